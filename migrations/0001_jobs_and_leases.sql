-- Durable job queue. While a job is 'running', run_at is its lease expiry: a worker that dies
-- simply stops extending it and the job becomes claimable again by the same index.
CREATE TABLE jobs (
  id           bigserial   PRIMARY KEY,
  kind         text        NOT NULL CHECK (kind <> ''),
  payload      jsonb       NOT NULL DEFAULT '{}'::jsonb,
  unique_key   text,
  state        text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done', 'dead')),
  priority     smallint    NOT NULL DEFAULT 0,
  run_at       timestamptz NOT NULL DEFAULT now(),
  attempts     integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts integer     NOT NULL DEFAULT 10 CHECK (max_attempts > 0),
  locked_by    text,
  last_error   text,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);

-- An enqueue with a key that was ever used (in any state) is a no-op: "send this reminder once".
CREATE UNIQUE INDEX jobs_kind_unique_key ON jobs (kind, unique_key) WHERE unique_key IS NOT NULL;
-- The claim query walks only claimable rows in due order.
CREATE INDEX jobs_claimable ON jobs (run_at, priority DESC, id) WHERE state IN ('pending', 'running');
CREATE INDEX jobs_dead ON jobs (updated_at) WHERE state = 'dead';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state = 'done';

-- Leader leases: one row per key; the holder renews before expiry, anyone may take an expired lease.
CREATE TABLE leases (
  key         text        PRIMARY KEY,
  owner       text        NOT NULL,
  expires_at  timestamptz NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now(),
  renewed_at  timestamptz NOT NULL DEFAULT now()
);
