-- Promo groups: a personal discount on plans for the users an admin (or a 'group' promo code) puts in a group.
-- The group's percent applies first and a promo code then applies to the discounted price (docs/ARCHITECTURE.md).
CREATE TABLE promo_groups (
  id           bigserial   PRIMARY KEY,
  name         text        NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9_-]{1,32}$'),
  plan_percent integer     NOT NULL CHECK (plan_percent BETWEEN 1 AND 90),
  created_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE users ADD COLUMN promo_group_id bigint REFERENCES promo_groups (id);
CREATE INDEX users_promo_group ON users (promo_group_id) WHERE promo_group_id IS NOT NULL;

ALTER TABLE promo_codes ADD COLUMN group_id bigint REFERENCES promo_groups (id);
ALTER TABLE promo_codes DROP CONSTRAINT promo_codes_kind_check;
ALTER TABLE promo_codes ADD CONSTRAINT promo_codes_kind_check
  CHECK (kind IN ('percent', 'fixed', 'days', 'balance', 'plan', 'group'));
ALTER TABLE promo_codes ADD CONSTRAINT promo_codes_group_check CHECK (kind <> 'group' OR group_id IS NOT NULL);

-- The part of discount_rub that came from the group (the rest is the promo code's).
ALTER TABLE orders ADD COLUMN group_discount_rub bigint NOT NULL DEFAULT 0 CHECK (group_discount_rub >= 0);
