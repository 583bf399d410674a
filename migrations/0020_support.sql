-- Support tickets: a user's conversation with the support team, relayed to a forum topic of the support group (one
-- topic per ticket) and back. One open ticket per user; topic_id is set once, by the job that creates the topic.
CREATE TABLE tickets (
  id                bigserial   PRIMARY KEY,
  user_id           bigint      NOT NULL REFERENCES users (id),
  state             text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'closed')),
  topic_id          bigint,                 -- message_thread_id in the support group
  created_at        timestamptz NOT NULL DEFAULT now(),
  waiting_since     timestamptz,            -- the user's oldest message not answered yet; null when answered
  sla_reminded_for  timestamptz,            -- the waiting_since the staff were last reminded of
  closed_at         timestamptz,
  closed_by         text CHECK (closed_by IN ('user', 'staff'))
);
CREATE UNIQUE INDEX tickets_one_open ON tickets (user_id) WHERE state = 'open';
CREATE UNIQUE INDEX tickets_topic ON tickets (topic_id) WHERE topic_id IS NOT NULL;
CREATE INDEX tickets_waiting ON tickets (waiting_since) WHERE state = 'open' AND waiting_since IS NOT NULL;

-- Every message of a ticket, either way, once (a redelivered update finds its row).
CREATE TABLE ticket_messages (
  id            bigserial   PRIMARY KEY,
  ticket_id     bigint      NOT NULL REFERENCES tickets (id),
  direction     text        NOT NULL CHECK (direction IN ('user', 'staff')),
  from_chat_id  bigint      NOT NULL,
  message_id    bigint      NOT NULL,
  kind          text        NOT NULL CHECK (kind IN ('text', 'photo', 'document')),
  text          text,
  relayed       boolean     NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (from_chat_id, message_id)
);
CREATE INDEX ticket_messages_unrelayed ON ticket_messages (ticket_id, id) WHERE NOT relayed;
