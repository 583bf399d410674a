-- Telegram users, the update inbox, the outbound message queue and small bot-wide state.

CREATE TABLE users (
  id              bigint      PRIMARY KEY,                   -- Telegram user id
  username        text,
  first_name      text        NOT NULL DEFAULT '',
  language        text        NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ru')),
  referral_code   text        NOT NULL UNIQUE,
  referrer_id     bigint      REFERENCES users (id),
  -- A referrer must have existed before the user: the referral graph is ordered by time, so no cycles.
  created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  started_at      timestamptz,                               -- first /start (referral links count only then)
  last_seen_at    timestamptz NOT NULL DEFAULT now(),
  reachable       boolean     NOT NULL DEFAULT true,         -- false after 403 or my_chat_member "kicked"
  banned          boolean     NOT NULL DEFAULT false,
  ban_reason      text,
  menu_message_id bigint,                                    -- the menu message we edit in place
  conversation    jsonb,                                     -- e.g. {"await": "promo_code"}
  CHECK (referrer_id IS NULL OR referrer_id <> id)
);
CREATE INDEX users_referrer ON users (referrer_id) WHERE referrer_id IS NOT NULL;
CREATE INDEX users_created ON users (created_at);

-- Every update exactly as Telegram sent it, keyed by update_id: a redelivery is a no-op.
-- Updates of one chat are handled in update_id order and never concurrently (see telegram/inbox.cpp).
CREATE TABLE tg_inbox (
  update_id    bigint      PRIMARY KEY,
  chat_id      bigint,                                       -- NULL: not tied to a chat (handled without order)
  kind         text        NOT NULL,                         -- message, callback_query, my_chat_member, ...
  payload      jsonb       NOT NULL,
  state        text        NOT NULL DEFAULT 'pending'
                           CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
  attempts     integer     NOT NULL DEFAULT 0,
  run_at       timestamptz NOT NULL DEFAULT now(),             -- next attempt (pending) or lease expiry (running)
  locked_by    text,
  last_error   text,
  received_at  timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX tg_inbox_open ON tg_inbox (chat_id, update_id) WHERE state IN ('pending', 'running');
CREATE INDEX tg_inbox_finished ON tg_inbox (finished_at) WHERE state IN ('done', 'failed', 'skipped');

-- Bodies that could not be read as an update at all: kept for the operator, never processed.
CREATE TABLE tg_malformed (
  id          bigserial   PRIMARY KEY,
  source      text        NOT NULL,
  reason      text        NOT NULL,
  body        text        NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- The one queue of outbound Bot API calls. The sender marks a row 'sending' before the HTTP call and
-- 'sent' after: a row left 'sending' by a killed sender becomes 'ambiguous' and is NOT resent
-- (at most once: a duplicate payment notice is worse than a missing one, which the user can re-request).
CREATE TABLE outbox (
  id           bigserial   PRIMARY KEY,
  chat_id      bigint      NOT NULL,
  method       text        NOT NULL,                          -- sendMessage, editMessageText, sendDocument, ...
  payload      jsonb       NOT NULL,
  files        jsonb,                                         -- [{"field","filename","content_type","base64"}]
  priority     smallint    NOT NULL DEFAULT 10,               -- 10 = reply to the user's action, 0 = bulk
  unique_key   text        UNIQUE,                            -- e.g. "broadcast:7:12345": enqueue once
  state        text        NOT NULL DEFAULT 'pending'
                           CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'ambiguous')),
  attempts     integer     NOT NULL DEFAULT 0,
  not_before   timestamptz NOT NULL DEFAULT now(),
  locked_by    text,
  lease_until  timestamptz,
  result       jsonb,                                         -- Telegram's result (e.g. message_id)
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  sent_at      timestamptz
);
CREATE INDEX outbox_due ON outbox (priority DESC, not_before, id) WHERE state = 'pending';
CREATE INDEX outbox_sending ON outbox (lease_until) WHERE state = 'sending';
CREATE INDEX outbox_finished ON outbox (created_at) WHERE state IN ('sent', 'failed', 'blocked', 'ambiguous');

-- Small named values shared by all processes (the getUpdates offset, ...).
CREATE TABLE bot_state (
  key        text        PRIMARY KEY,
  value      jsonb       NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
