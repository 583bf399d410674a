-- Maintenance mode: one row, switched by an admin (panel or CLI). While on, users get a notice and admins keep
-- working; webhooks and payments are processed as always.
CREATE TABLE maintenance (
  singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  enabled     boolean NOT NULL DEFAULT false,
  message     text CHECK (length(message) <= 1000),  -- the operator's words after the standard notice
  changed_at  timestamptz NOT NULL DEFAULT now(),
  changed_by  bigint
);
INSERT INTO maintenance DEFAULT VALUES;
