-- A cap on a job's retry backoff (with jitter), for work that should resume soon after an outage ends (a panel sync:
-- the exponential backoff alone would wait up to an hour after the panel is back).
ALTER TABLE jobs ADD COLUMN max_backoff_ms integer CHECK (max_backoff_ms > 0);
