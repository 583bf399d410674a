-- Required channels: the last membership read per user and channel (getChatMember, trusted for a while), and when
-- a user first passed the check (the "ignore" policy never asks again after it).
CREATE TABLE channel_checks (
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  channel     text NOT NULL,
  member      boolean,  -- NULL: Telegram could not tell (no such channel, the bot not an admin there)
  checked_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, channel)
);
ALTER TABLE users ADD COLUMN channels_passed_at timestamptz;
