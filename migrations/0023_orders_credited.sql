-- credited: paid, but no longer honourable as offered (an expired order's promo code ran out meanwhile, a
-- first-purchase code on a later purchase): its RUB value went to the user's balance, nothing else was granted.
ALTER TABLE orders DROP CONSTRAINT orders_state_check;
ALTER TABLE orders ADD CONSTRAINT orders_state_check
  CHECK (state IN ('pending', 'paid', 'canceled', 'expired', 'refunded', 'mismatch', 'credited'));
