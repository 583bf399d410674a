-- Scheduled work: auto-renewal bookkeeping, broadcasts and their share of the outbox.

-- The expiry an auto-renewal was last attempted for: one attempt per expiry, even with two schedulers.
ALTER TABLE subscriptions ADD COLUMN auto_renew_tried_for timestamptz;
CREATE INDEX subscriptions_auto_renew ON subscriptions (expires_at) WHERE auto_renew;

CREATE TABLE broadcasts (
  id                bigserial   PRIMARY KEY,
  created_by        bigint,
  text              text        NOT NULL CHECK (length(text) BETWEEN 1 AND 4096),
  photo             text,                                      -- URL or Telegram file_id (caption = text)
  buttons           jsonb       NOT NULL DEFAULT '[]',         -- [{"text": .., "url": ..}]
  audience          text        NOT NULL
                                CHECK (audience IN ('all', 'active', 'expired', 'never_paid', 'trial', 'language', 'node')),
  audience_arg      text,                                      -- the language code or node name
  state             text        NOT NULL DEFAULT 'draft'
                                CHECK (state IN ('draft', 'running', 'paused', 'cancelled', 'done')),
  cursor_user_id    bigint      NOT NULL DEFAULT 0,            -- fan-out progress: recipients are taken by id
  queued            integer     NOT NULL DEFAULT 0,
  runs              integer     NOT NULL DEFAULT 0,            -- starts + resumes (unique key of the fan-out job)
  status_chat_id    bigint,                                    -- the admin's live progress message
  status_message_id bigint,
  created_at        timestamptz NOT NULL DEFAULT now(),
  started_at        timestamptz,
  finished_at       timestamptz
);

ALTER TABLE outbox ADD COLUMN broadcast_id bigint;
CREATE INDEX outbox_broadcast ON outbox (broadcast_id, state) WHERE broadcast_id IS NOT NULL;
-- held: a paused broadcast's messages; cancelled: never sent.
ALTER TABLE outbox DROP CONSTRAINT outbox_state_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_state_check
  CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'ambiguous', 'held', 'cancelled'));
