-- Gifts: an order paid for someone else. Paying it issues one code instead of extending the buyer's subscription;
-- the first user to redeem the code gets the days (a conditional UPDATE on state = 'open' is the guarantee).
ALTER TABLE orders ADD COLUMN gift boolean NOT NULL DEFAULT false;

CREATE TABLE gifts (
  id           bigserial   PRIMARY KEY,
  code         text        NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9]{12}$'),
  order_id     bigint      NOT NULL UNIQUE REFERENCES orders (id),
  buyer_id     bigint      NOT NULL REFERENCES users (id),
  plan_id      bigint      NOT NULL REFERENCES plans (id),
  days         integer     NOT NULL CHECK (days > 0),
  device_limit integer     NOT NULL CHECK (device_limit BETWEEN 1 AND 100),
  state        text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'redeemed', 'revoked')),
  redeemed_by  bigint      REFERENCES users (id),
  redeemed_at  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (state = 'open' OR state = 'revoked' OR redeemed_by IS NOT NULL)
);
CREATE INDEX gifts_buyer ON gifts (buyer_id, id DESC);
CREATE INDEX gifts_redeemed_by ON gifts (redeemed_by) WHERE redeemed_by IS NOT NULL;
