-- Xray locations served by a Remnawave panel, beside the WireGuard nodes. The panel holds the inbounds and hosts; a
-- location here is one panel (URL + API token) and the internal squads a user of it gets.
CREATE TABLE panel_nodes (
  id           bigserial   PRIMARY KEY,
  name         text        NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,31}$'),
  backend      text        NOT NULL DEFAULT 'remnawave' CHECK (backend IN ('remnawave')),
  api_version  integer     NOT NULL DEFAULT 2 CHECK (api_version IN (2)),
  country_code text        NOT NULL CHECK (country_code ~ '^[A-Z]{2}$'),
  location     text        NOT NULL,
  protocol     text        NOT NULL DEFAULT 'VLESS Reality',        -- what the user is told the location speaks
  panel_url    text        NOT NULL CHECK (panel_url ~ '^https?://'),
  token_enc    text        NOT NULL,                                 -- secretbox under the master key, never shown
  squads       uuid[]      NOT NULL DEFAULT '{}',
  capacity     integer     NOT NULL CHECK (capacity > 0),
  state        text        NOT NULL DEFAULT 'enabled' CHECK (state IN ('enabled', 'draining', 'disabled')),
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Plans say how much traffic a period includes (NULL: unlimited) and how many devices may share one subscription
-- link on an Xray location (NULL: the plan's device limit).
ALTER TABLE plans ADD COLUMN traffic_gb integer CHECK (traffic_gb IS NULL OR traffic_gb BETWEEN 1 AND 100000);
ALTER TABLE plans ADD COLUMN panel_devices integer CHECK (panel_devices IS NULL OR panel_devices BETWEEN 1 AND 100);
-- Where a plan's first config is made: a WireGuard node, or an Xray location of a panel.
ALTER TABLE plans ADD COLUMN backend text NOT NULL DEFAULT 'wireguard' CHECK (backend IN ('wireguard', 'remnawave'));

-- One panel user per row: the desired state, which the worker reconciles into the panel. Every change of what the
-- panel should hold bumps `revision`; a sync applies the whole desired state and records the revision it applied,
-- so repeating it after a crash is harmless. revoke/traffic generations ask for one action each (a new link; the
-- traffic counter reset when a period is paid).
CREATE TABLE panel_accounts (
  id                     bigserial   PRIMARY KEY,
  user_id                bigint      NOT NULL REFERENCES users (id),
  node_id                bigint      NOT NULL REFERENCES panel_nodes (id),
  subscription_id        bigint,
  provision_key          text        UNIQUE,
  username               text        NOT NULL UNIQUE CHECK (username ~ '^[a-zA-Z0-9_-]{3,36}$'),
  state                  text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled', 'removed')),
  revision               bigint      NOT NULL DEFAULT 1,
  applied_revision       bigint      NOT NULL DEFAULT 0,
  revoke_generation      integer     NOT NULL DEFAULT 0,
  applied_revoke         integer     NOT NULL DEFAULT 0,
  traffic_period         integer     NOT NULL DEFAULT 0,
  applied_traffic_period integer     NOT NULL DEFAULT 0,
  deliver                boolean     NOT NULL DEFAULT false,        -- send the link to the user once the panel has it
  panel_uuid             uuid,
  subscription_url       text,
  panel_status           text,
  used_bytes             bigint      NOT NULL DEFAULT 0,
  limit_bytes            bigint      NOT NULL DEFAULT 0,
  usage_read_at          timestamptz,
  limit_notified         boolean     NOT NULL DEFAULT false,
  last_error             text,                                      -- the panel's last 4xx message, for an admin
  sync_owner             text,                                      -- a sync in progress (fenced lease)
  sync_until             timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  removed_at             timestamptz
);
-- One live account per user and location: its one link serves the plan's devices.
CREATE UNIQUE INDEX panel_accounts_user_node ON panel_accounts (user_id, node_id) WHERE state <> 'removed';
CREATE INDEX panel_accounts_user ON panel_accounts (user_id) WHERE state <> 'removed';
-- What the sweep looks at: only accounts the panel does not hold yet as desired.
CREATE INDEX panel_accounts_dirty ON panel_accounts (id) WHERE revision > applied_revision;

-- A renewal, a refund, an admin's days, a plan change: whatever moves the subscription asks the panel to follow.
CREATE FUNCTION panel_subscription_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.expires_at IS DISTINCT FROM OLD.expires_at OR NEW.device_limit IS DISTINCT FROM OLD.device_limit
     OR NEW.plan_id IS DISTINCT FROM OLD.plan_id THEN
    UPDATE panel_accounts SET revision = revision + 1, updated_at = now()
    WHERE user_id = NEW.user_id AND state <> 'removed';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER subscriptions_panel_sync AFTER UPDATE ON subscriptions FOR EACH ROW
  EXECUTE FUNCTION panel_subscription_changed();
