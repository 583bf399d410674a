-- Billing: plans, subscriptions, trials, orders, payment events, promo codes and the balance/points ledger.
-- Money is in minor units: kopecks for RUB, whole stars for XTR.

CREATE TABLE plans (
  id           bigserial   PRIMARY KEY,
  code         text        NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9_-]{1,32}$'),
  title        jsonb       NOT NULL CHECK (jsonb_typeof(title) = 'object' AND title ? 'en'),  -- {"en": .., "ru": ..}
  days         integer     NOT NULL CHECK (days BETWEEN 1 AND 3650),
  price_rub    bigint      NOT NULL CHECK (price_rub > 0),
  price_stars  integer     NOT NULL CHECK (price_stars > 0),
  device_limit integer     NOT NULL CHECK (device_limit BETWEEN 1 AND 100),
  hidden       boolean     NOT NULL DEFAULT false,           -- only reachable with a promo code that unlocks it
  active       boolean     NOT NULL DEFAULT true,
  sort         integer     NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO plans (code, title, days, price_rub, price_stars, device_limit, sort) VALUES
  ('month',   '{"en": "1 month", "ru": "1 месяц"}',    30, 19900,  100, 3, 10),
  ('quarter', '{"en": "3 months", "ru": "3 месяца"}',  90, 49900,  250, 3, 20),
  ('year',    '{"en": "12 months", "ru": "12 месяцев"}', 365, 169000, 850, 5, 30);

-- One subscription per user: a purchase or renewal extends it from max(now, expires_at).
CREATE TABLE subscriptions (
  id           bigserial   PRIMARY KEY,
  user_id      bigint      NOT NULL UNIQUE REFERENCES users (id),
  plan_id      bigint      REFERENCES plans (id),
  expires_at   timestamptz NOT NULL,
  device_limit integer     NOT NULL CHECK (device_limit BETWEEN 1 AND 100),
  trial_only   boolean     NOT NULL DEFAULT false,            -- nothing paid yet
  auto_renew   boolean     NOT NULL DEFAULT false,
  deactivated  boolean     NOT NULL DEFAULT false,            -- configs switched off after expiry (+ grace)
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_expiry ON subscriptions (expires_at);
-- Only subscriptions still to be switched off are indexed: the periodic pass never rereads old expiries.
CREATE INDEX subscriptions_to_deactivate ON subscriptions (expires_at) WHERE NOT deactivated;

-- A trial is granted once per Telegram user, ever: the primary key is the guarantee.
CREATE TABLE trials (
  user_id    bigint      PRIMARY KEY REFERENCES users (id),
  days       integer     NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE promo_codes (
  id                  bigserial   PRIMARY KEY,
  code                text        NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_-]{3,32}$'),
  kind                text        NOT NULL CHECK (kind IN ('percent', 'fixed', 'days', 'balance', 'plan')),
  value               bigint      NOT NULL DEFAULT 0 CHECK (value >= 0),  -- percent, kopecks or days
  unlock_plan_id      bigint      REFERENCES plans (id),                 -- kind 'plan'
  plan_ids            bigint[],                                          -- usable only for these plans (NULL: all)
  max_uses            integer     CHECK (max_uses IS NULL OR max_uses > 0),
  uses                integer     NOT NULL DEFAULT 0,
  max_per_user        integer     NOT NULL DEFAULT 1 CHECK (max_per_user > 0),
  valid_from          timestamptz,
  valid_until         timestamptz,
  first_purchase_only boolean     NOT NULL DEFAULT false,
  active              boolean     NOT NULL DEFAULT true,
  created_by          bigint,
  created_at          timestamptz NOT NULL DEFAULT now(),
  -- The guarantee against overselling: a use is counted by a conditional UPDATE that this check backs up.
  CHECK (max_uses IS NULL OR uses <= max_uses),
  CHECK (uses >= 0),
  CHECK (kind <> 'percent' OR value BETWEEN 1 AND 100),
  CHECK (kind <> 'plan' OR unlock_plan_id IS NOT NULL)
);

-- applied: attached to the user, waiting for a checkout (one at a time); reserved: counted against the limits by
-- a pending order; used: consumed (by a paid order or at once for days/balance codes).
CREATE TABLE promo_redemptions (
  id         bigserial   PRIMARY KEY,
  promo_id   bigint      NOT NULL REFERENCES promo_codes (id),
  user_id    bigint      NOT NULL REFERENCES users (id),
  order_id   bigint      UNIQUE,
  state      text        NOT NULL CHECK (state IN ('applied', 'reserved', 'used')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX promo_redemptions_applied ON promo_redemptions (user_id) WHERE state = 'applied';
CREATE INDEX promo_redemptions_user ON promo_redemptions (promo_id, user_id);

CREATE TABLE orders (
  id                  bigserial   PRIMARY KEY,
  user_id             bigint      NOT NULL REFERENCES users (id),
  plan_id             bigint      NOT NULL REFERENCES plans (id),
  provider            text        NOT NULL CHECK (provider IN ('yookassa', 'heleket', 'stars', 'balance')),
  amount              bigint      NOT NULL CHECK (amount > 0),       -- what the provider must collect
  currency            text        NOT NULL CHECK (currency IN ('RUB', 'XTR')),
  value_rub           bigint      NOT NULL CHECK (value_rub >= 0),   -- worth in kopecks (rewards, revenue)
  days                integer     NOT NULL CHECK (days > 0),
  device_limit        integer     NOT NULL,
  promo_id            bigint      REFERENCES promo_codes (id),
  discount_rub        bigint      NOT NULL DEFAULT 0,
  bonus_days          integer     NOT NULL DEFAULT 0,                -- promo or referral extra days
  state               text        NOT NULL DEFAULT 'pending'
                                  CHECK (state IN ('pending', 'paid', 'canceled', 'expired', 'refunded', 'mismatch')),
  provider_payment_id text,
  confirmation_url    text,
  note                text,                                          -- why it is flagged (mismatch), refund reason
  created_at          timestamptz NOT NULL DEFAULT now(),
  expires_at          timestamptz NOT NULL,
  paid_at             timestamptz,
  closed_at           timestamptz,
  UNIQUE (provider, provider_payment_id)
);
CREATE INDEX orders_pending ON orders (expires_at) WHERE state = 'pending';
CREATE INDEX orders_user ON orders (user_id, id DESC);
CREATE INDEX orders_paid ON orders (paid_at) WHERE paid_at IS NOT NULL;

-- Provider notifications exactly as received; a redelivery hits the unique key and changes nothing.
CREATE TABLE payment_events (
  id           bigserial   PRIMARY KEY,
  provider     text        NOT NULL,
  external_id  text        NOT NULL,                            -- the provider's payment/invoice/refund id
  event        text        NOT NULL,                            -- payment.succeeded, paid, refund_paid, ...
  payload      jsonb       NOT NULL,
  source_ip    text,
  received_at  timestamptz NOT NULL DEFAULT now(),
  processed_at timestamptz,
  outcome      text,
  UNIQUE (provider, external_id, event)
);

-- Webhooks refused before storing (foreign IP, bad signature, unreadable body): for the operator and metrics.
CREATE TABLE payment_rejections (
  id          bigserial   PRIMARY KEY,
  provider    text        NOT NULL,
  reason      text        NOT NULL,
  source_ip   text,
  body        text        NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);

-- Append-only money and points movements. (source, reference) is unique: an effect is written once, ever.
CREATE TABLE ledger (
  id         bigserial   PRIMARY KEY,
  user_id    bigint      NOT NULL REFERENCES users (id),
  account    text        NOT NULL CHECK (account IN ('balance', 'points')),
  amount     bigint      NOT NULL CHECK (amount <> 0),
  source     text        NOT NULL,       -- referral, cashback, purchase, promo, admin, refund, exchange, ...
  reference  text        NOT NULL,       -- e.g. "order:42:level:1"
  actor_id   bigint,                     -- the admin, for manual adjustments
  note       text,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (source, reference)
);
CREATE INDEX ledger_user ON ledger (user_id, id DESC);

-- Running totals of the ledger, updated in the same statement as each entry (ledger sums always equal these).
CREATE TABLE accounts (
  user_id bigint PRIMARY KEY REFERENCES users (id),
  balance bigint NOT NULL DEFAULT 0,
  points  bigint NOT NULL DEFAULT 0
);
