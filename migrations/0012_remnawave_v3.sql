-- Remnawave 3.x beside 2.x: a panel node says which API generation it speaks, and an account keeps the panel's
-- handle of its user as text (a uuid in 2.x, a numeric id in 3.x).
ALTER TABLE panel_nodes DROP CONSTRAINT panel_nodes_api_version_check;
ALTER TABLE panel_nodes ADD CONSTRAINT panel_nodes_api_version_check CHECK (api_version IN (2, 3));
ALTER TABLE panel_accounts RENAME COLUMN panel_uuid TO panel_ref;
ALTER TABLE panel_accounts ALTER COLUMN panel_ref TYPE text;
-- When the panel last reset an account's traffic counter for vpnbot: a usage page read before that moment holds the
-- previous period's numbers and is not recorded (no second "used up" notice).
ALTER TABLE panel_accounts ADD COLUMN traffic_reset_at timestamptz;
