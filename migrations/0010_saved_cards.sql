-- YooKassa autopayments: a card the user agreed (at checkout) to save, charged for auto-renewal without the user.
-- One per user; removing it from "My subscription" deletes the row, and no charge is made with it afterwards.
CREATE TABLE saved_payment_methods (
  user_id        bigint      PRIMARY KEY REFERENCES users (id),
  provider       text        NOT NULL CHECK (provider IN ('yookassa')),
  method_id      text        NOT NULL CHECK (length(method_id) BETWEEN 1 AND 64),
  title          text        NOT NULL DEFAULT '',             -- what the provider calls it ("Bank card *4444")
  saved_by_order bigint      REFERENCES orders (id),
  created_at     timestamptz NOT NULL DEFAULT now()
);

-- save_method: the user ticked "save the card" for this order. payment_method_id: the order is an auto-renewal
-- charged to that saved method; renewal_for: the expiry it renews, unique per user, so one expiry can never be
-- charged twice however many schedulers, workers or retries race.
ALTER TABLE orders ADD COLUMN save_method boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN payment_method_id text;
ALTER TABLE orders ADD COLUMN renewal_for timestamptz;
ALTER TABLE orders ADD CONSTRAINT orders_renewal_is_charged CHECK ((renewal_for IS NULL) = (payment_method_id IS NULL));
CREATE UNIQUE INDEX orders_one_charge_per_expiry ON orders (user_id, renewal_for) WHERE renewal_for IS NOT NULL;
