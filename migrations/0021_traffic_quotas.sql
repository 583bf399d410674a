-- Traffic quotas for WireGuard. wg-agent reads each peer's transfer counters; a counter restarts from zero when
-- wireguard-go restarts or the peer is re-added, so rx_bytes/tx_bytes are the baseline the next reading is measured
-- from (set to 0 by the agent before such a restart) and used_bytes what the config has carried in its life.
ALTER TABLE vpn_peers ADD COLUMN used_bytes bigint NOT NULL DEFAULT 0 CHECK (used_bytes >= 0);

-- A subscription's period: the WireGuard traffic used in it, the plan's allowance (NULL: unlimited) and what
-- top-ups added. A renewal starts a new period (traffic_period + 1, used and extra back to 0). traffic_blocked:
-- the configs were switched off for the quota; nothing switches them on again until a renewal or a top-up.
ALTER TABLE subscriptions ADD COLUMN traffic_used_bytes bigint NOT NULL DEFAULT 0 CHECK (traffic_used_bytes >= 0);
ALTER TABLE subscriptions ADD COLUMN traffic_limit_bytes bigint CHECK (traffic_limit_bytes IS NULL OR traffic_limit_bytes > 0);
ALTER TABLE subscriptions ADD COLUMN traffic_extra_bytes bigint NOT NULL DEFAULT 0 CHECK (traffic_extra_bytes >= 0);
ALTER TABLE subscriptions ADD COLUMN traffic_period integer NOT NULL DEFAULT 0;
ALTER TABLE subscriptions ADD COLUMN traffic_blocked boolean NOT NULL DEFAULT false;

-- Traffic top-ups for sale: gigabytes added to the current period.
CREATE TABLE traffic_packages (
  id          bigserial   PRIMARY KEY,
  gb          integer     NOT NULL CHECK (gb BETWEEN 1 AND 100000),
  price_rub   bigint      NOT NULL CHECK (price_rub > 0),
  price_stars integer     NOT NULL CHECK (price_stars > 0),
  active      boolean     NOT NULL DEFAULT true,
  sort        integer     NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- An order is for a plan's days or for a traffic package's gigabytes (plan_id is then the plan the traffic is
-- added to).
ALTER TABLE orders ADD COLUMN traffic_gb integer CHECK (traffic_gb IS NULL OR traffic_gb > 0);
ALTER TABLE orders DROP CONSTRAINT orders_days_check;
ALTER TABLE orders ADD CONSTRAINT orders_days_check CHECK (days > 0 OR (days = 0 AND traffic_gb IS NOT NULL));
ALTER TABLE orders ADD CONSTRAINT orders_traffic_is_not_a_gift CHECK (traffic_gb IS NULL OR NOT gift);

-- A plan's traffic_gb was the Xray accounts' allowance; it is now the WireGuard quota too. Subscriptions on such a
-- plan get it from now on (their usage counted from zero).
UPDATE subscriptions s SET traffic_limit_bytes = p.traffic_gb::bigint * 1073741824
FROM plans p WHERE p.id = s.plan_id AND p.traffic_gb IS NOT NULL;

-- A top-up raises the Xray accounts' limit as well (the panel turns a LIMITED user ACTIVE when its limit grows).
CREATE OR REPLACE FUNCTION panel_subscription_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.expires_at IS DISTINCT FROM OLD.expires_at OR NEW.device_limit IS DISTINCT FROM OLD.device_limit
     OR NEW.plan_id IS DISTINCT FROM OLD.plan_id OR NEW.traffic_extra_bytes IS DISTINCT FROM OLD.traffic_extra_bytes THEN
    UPDATE panel_accounts SET revision = revision + 1, updated_at = now()
    WHERE user_id = NEW.user_id AND state <> 'removed';
  END IF;
  RETURN NEW;
END $$;
