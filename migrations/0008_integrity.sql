-- Money never goes below zero: every debit is a conditional update, and this is the last line.
-- NOT VALID first, so a database that already holds a negative total (from before this rule) still migrates;
-- it is validated at once when it holds none.
ALTER TABLE accounts ADD CONSTRAINT accounts_not_negative CHECK (balance >= 0 AND points >= 0) NOT VALID;
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM accounts WHERE balance < 0 OR points < 0) THEN
    ALTER TABLE accounts VALIDATE CONSTRAINT accounts_not_negative;
  END IF;
END
$$;

-- Job priority decides among due jobs (before, it only broke ties of equal run_at).
CREATE INDEX jobs_claimable_by_priority ON jobs (priority DESC, run_at, id) WHERE state IN ('pending', 'running');
DROP INDEX jobs_claimable;

-- Peer revisions are taken under a shared advisory lock held until commit. A sequence value is visible before
-- the transaction that took it commits, so an agent that jumped to the largest revision it saw could skip a
-- smaller one committed later; it now first takes the lock exclusively, which waits for every such transaction.
CREATE FUNCTION vpn_next_revision() RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT pg_advisory_xact_lock_shared(7419001);
  SELECT nextval('vpn_peer_revision');
$$;
ALTER TABLE vpn_peers ALTER COLUMN revision SET DEFAULT vpn_next_revision();
