-- Terms of service: the version a user last accepted (0 = none), so raising the configured version asks again.
ALTER TABLE users
  ADD COLUMN rules_accepted_version integer NOT NULL DEFAULT 0 CHECK (rules_accepted_version >= 0),
  ADD COLUMN rules_accepted_at timestamptz;
