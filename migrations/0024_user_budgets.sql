-- Per-user budgets (src/budgets): one row per user and kind of work, counting the asks of the current window.
CREATE TABLE user_budgets (
  user_id      bigint      NOT NULL,
  kind         text        NOT NULL CHECK (length(kind) <= 32),
  window_start timestamptz NOT NULL,
  used         bigint      NOT NULL CHECK (used >= 0),
  PRIMARY KEY (user_id, kind)
);
CREATE INDEX user_budgets_window ON user_budgets (window_start);
