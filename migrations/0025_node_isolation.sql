-- Node isolation: a WireGuard node's agent logs in with a database role of its own (`vpnbot admin node
-- credential`) and sees only its own node row and peers; it writes only its readings (through
-- vpn_record_readings), its peers' counter baselines, its status row and its lease. Its secrets (its private key,
-- its peers' preshared keys) are sealed with a key derived from the master key for that node and generation, so the
-- node holds that key and never the master key.
--
-- The shop's own role owns these tables, so row-level security does not apply to it; the policies below let any
-- other role that is not a node's see everything, and a node's role its own rows only.

ALTER TABLE vpn_nodes
  ADD COLUMN sealing_generation integer NOT NULL DEFAULT 0 CHECK (sealing_generation >= 0),
  ADD COLUMN db_role text UNIQUE;
-- Existing nodes stay sealed under the master key itself (generation 0) until a credential is issued; new nodes
-- start with a key of their own.
ALTER TABLE vpn_nodes ALTER COLUMN sealing_generation SET DEFAULT 1;

-- The node whose role is logged in, NULL for any other role. SECURITY DEFINER: it reads vpn_nodes past its own
-- policy.
CREATE FUNCTION vpn_caller_node() RETURNS bigint LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp AS $$
  SELECT id FROM vpn_nodes WHERE db_role = session_user
$$;

ALTER TABLE vpn_nodes ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_node ON vpn_nodes USING (vpn_caller_node() IS NULL OR id = vpn_caller_node());
ALTER TABLE vpn_peers ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_peers ON vpn_peers USING (vpn_caller_node() IS NULL OR node_id = vpn_caller_node());
ALTER TABLE vpn_agent_status ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_status ON vpn_agent_status USING (vpn_caller_node() IS NULL OR node_id = vpn_caller_node());
ALTER TABLE leases ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_lease ON leases USING (
  vpn_caller_node() IS NULL OR key = 'wg-agent:' || (SELECT name FROM vpn_nodes WHERE id = vpn_caller_node()));

-- Switches off a user's WireGuard configs for their quota (Xray accounts have the panel's own limit); returns how
-- many were on.
CREATE FUNCTION vpn_traffic_block(p_user bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  switched bigint;
BEGIN
  UPDATE subscriptions SET traffic_blocked = true, updated_at = now() WHERE user_id = p_user;
  UPDATE vpn_peers SET state = 'disabled', revision = vpn_next_revision(), updated_at = now()
  WHERE user_id = p_user AND state = 'active';
  GET DIAGNOSTICS switched = ROW_COUNT;
  RETURN switched;
END
$$;
REVOKE EXECUTE ON FUNCTION vpn_traffic_block(bigint) FROM PUBLIC;

-- One reading of a node's interface: the growth of each counter since its baseline (a counter below its baseline
-- went back to zero, so all of it is new) is added to the config and summed into its user's subscription; a
-- subscription past its WireGuard quota gets its configs switched off and one notice job per period. Idle peers
-- are not written. Only one agent writes a node's counters (its lease), and the row locks order it with a renewal
-- resetting the period. A node's role may record for its own node only. Returns the subscriptions found over
-- their quota with how many configs were switched off.
CREATE FUNCTION vpn_record_readings(p_node bigint, p_keys text[], p_handshakes bigint[], p_rx bigint[],
                                    p_tx bigint[])
RETURNS TABLE (subscription_id bigint, user_id bigint, configs bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  caller bigint := vpn_caller_node();
  over record;
BEGIN
  IF caller IS NOT NULL AND caller <> p_node THEN
    RAISE EXCEPTION 'a node records its own readings only' USING ERRCODE = 'insufficient_privilege';
  END IF;
  FOR over IN
    WITH reading AS (
      SELECT * FROM unnest(p_keys, p_handshakes, p_rx, p_tx) AS r(public_key, handshake, rx, tx)),
    counted AS (
      SELECT p.id, p.user_id, r.handshake, r.rx, r.tx,
             (CASE WHEN r.rx >= p.rx_bytes THEN r.rx - p.rx_bytes ELSE r.rx END) +
             (CASE WHEN r.tx >= p.tx_bytes THEN r.tx - p.tx_bytes ELSE r.tx END) AS growth
      FROM vpn_peers p JOIN reading r ON r.public_key = p.public_key
      WHERE p.node_id = p_node AND NOT p.address_released AND (r.rx <> p.rx_bytes OR r.tx <> p.tx_bytes)
      FOR UPDATE OF p),
    peers AS (
      UPDATE vpn_peers p SET last_handshake_at = CASE WHEN c.handshake > 0 THEN to_timestamp(c.handshake) END,
             rx_bytes = c.rx, tx_bytes = c.tx, used_bytes = p.used_bytes + c.growth
      FROM counted c WHERE p.id = c.id
      RETURNING p.id),
    per_user AS (
      SELECT c.user_id, sum(c.growth)::bigint AS growth FROM counted c GROUP BY c.user_id HAVING sum(c.growth) > 0),
    subs AS (
      UPDATE subscriptions s SET traffic_used_bytes = s.traffic_used_bytes + u.growth
      FROM per_user u WHERE s.user_id = u.user_id
      RETURNING s.id, s.user_id, s.traffic_period,
                s.traffic_limit_bytes IS NOT NULL
                AND s.traffic_used_bytes >= s.traffic_limit_bytes + s.traffic_extra_bytes AS over_quota)
    SELECT subs.id, subs.user_id, subs.traffic_period FROM subs WHERE over_quota
  LOOP
    -- Any growth past the quota lands here again (e.g. an admin switched a config on): the configs go off each
    -- time, the notice is sent once per period.
    configs := vpn_traffic_block(over.user_id);
    INSERT INTO jobs (kind, payload, unique_key)
    VALUES ('vpn.traffic_used_up', jsonb_build_object('user_id', over.user_id),
            'traffic-used-up:' || over.id || ':' || over.traffic_period)
    ON CONFLICT (kind, unique_key) WHERE unique_key IS NOT NULL DO NOTHING;
    PERFORM pg_notify('vpnbot_jobs', 'vpn.traffic_used_up');
    subscription_id := over.id;
    user_id := over.user_id;
    RETURN NEXT;
  END LOOP;
END
$$;
REVOKE EXECUTE ON FUNCTION vpn_record_readings(bigint, text[], bigint[], bigint[], bigint[]) FROM PUBLIC;
