-- The admin audit trail and the indexes the admin statistics read through.

-- Every admin action, from the bot panel or the command line: who, what, to whom, when.
CREATE TABLE admin_audit (
  id             bigserial   PRIMARY KEY,
  actor_id       bigint      NOT NULL,                       -- Telegram id; 0 for the CLI without --admin
  via            text        NOT NULL CHECK (via IN ('bot', 'cli')),
  action         text        NOT NULL,
  target_user_id bigint,
  details        jsonb       NOT NULL DEFAULT '{}',
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_audit_target ON admin_audit (target_user_id, id DESC) WHERE target_user_id IS NOT NULL;

-- Small partial indexes: the few blocked/banned users are counted without reading the whole table.
CREATE INDEX users_unreachable ON users (id) WHERE NOT reachable;
CREATE INDEX users_banned ON users (id) WHERE banned;
-- User search by @username (case-insensitive, as Telegram treats usernames).
CREATE INDEX users_username ON users (lower(username)) WHERE username IS NOT NULL;
CREATE INDEX trials_granted ON trials (granted_at);
