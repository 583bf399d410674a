-- VPN nodes, their address pools, and peers as desired state (the wg-agent of each node applies them).

CREATE TABLE vpn_nodes (
  id              bigserial   PRIMARY KEY,
  name            text        NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
  country_code    text        NOT NULL CHECK (country_code ~ '^[A-Z]{2}$'),
  location        text        NOT NULL,
  endpoint_host   text        NOT NULL,
  endpoint_port   integer     NOT NULL CHECK (endpoint_port BETWEEN 1 AND 65535),
  interface       text        NOT NULL CHECK (interface ~ '^[a-zA-Z0-9_=+.-]{1,15}$'),
  subnet_v4       cidr        NOT NULL CHECK (family(subnet_v4) = 4 AND masklen(subnet_v4) BETWEEN 8 AND 30),
  subnet_v6       cidr        CHECK (subnet_v6 IS NULL OR family(subnet_v6) = 6),
  dns             text        NOT NULL DEFAULT '1.1.1.1',
  mtu             integer     NOT NULL DEFAULT 1420 CHECK (mtu BETWEEN 1280 AND 9000),
  capacity        integer     NOT NULL CHECK (capacity > 0),
  state           text        NOT NULL DEFAULT 'enabled' CHECK (state IN ('enabled', 'draining', 'disabled')),
  public_key      text        NOT NULL,
  private_key_enc text        NOT NULL,                        -- secretbox under the master key
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- Free tunnel addresses per node: allocation takes one row (SKIP LOCKED), release puts it back. O(log n) at any fill.
CREATE TABLE vpn_free_addresses (
  node_id bigint NOT NULL REFERENCES vpn_nodes (id) ON DELETE CASCADE,
  address inet   NOT NULL,
  PRIMARY KEY (node_id, address)
);

-- Every change of a peer takes a new revision: an agent asks for "revision > the last I applied".
CREATE SEQUENCE vpn_peer_revision;

CREATE TABLE vpn_peers (
  id                bigserial   PRIMARY KEY,
  user_id           bigint      NOT NULL REFERENCES users (id),
  subscription_id   bigint,                                    -- set by billing
  node_id           bigint      NOT NULL REFERENCES vpn_nodes (id),
  address           inet        NOT NULL,
  public_key        text        NOT NULL,
  private_key_enc   text        NOT NULL,
  preshared_key_enc text        NOT NULL,
  state             text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled', 'removed')),
  revision          bigint      NOT NULL DEFAULT nextval('vpn_peer_revision'),
  provision_key     text        UNIQUE,                        -- idempotent provisioning (e.g. "order:42:1")
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  removed_at        timestamptz,
  address_released  boolean     NOT NULL DEFAULT false,
  last_handshake_at timestamptz,
  rx_bytes          bigint      NOT NULL DEFAULT 0,
  tx_bytes          bigint      NOT NULL DEFAULT 0
);
-- An address is held by at most one live peer of a node; a removed peer keeps it until the grace period ends.
CREATE UNIQUE INDEX vpn_peers_node_address ON vpn_peers (node_id, address) WHERE NOT address_released;
CREATE UNIQUE INDEX vpn_peers_node_key ON vpn_peers (node_id, public_key) WHERE state <> 'removed';
CREATE INDEX vpn_peers_node_revision ON vpn_peers (node_id, revision);
CREATE INDEX vpn_peers_user ON vpn_peers (user_id) WHERE state <> 'removed';
CREATE INDEX vpn_peers_release ON vpn_peers (removed_at) WHERE state = 'removed' AND NOT address_released;

-- Wakes the node's agent on every change (payload: node id); the revision tells it what changed.
CREATE FUNCTION vpn_peer_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('vpnbot_peers', NEW.node_id::text);
  IF TG_OP = 'UPDATE' AND OLD.node_id <> NEW.node_id THEN
    PERFORM pg_notify('vpnbot_peers', OLD.node_id::text);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER vpn_peers_notify AFTER INSERT OR UPDATE ON vpn_peers FOR EACH ROW EXECUTE FUNCTION vpn_peer_changed();

-- What each agent last applied and saw (for metrics and the admin panel).
CREATE TABLE vpn_agent_status (
  node_id          bigint      PRIMARY KEY REFERENCES vpn_nodes (id) ON DELETE CASCADE,
  applied_revision bigint      NOT NULL DEFAULT 0,
  last_reconcile   timestamptz,
  drift            integer     NOT NULL DEFAULT 0,              -- peers corrected by the last full reconcile
  peers            integer     NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
