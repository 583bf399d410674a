-- Crypto Pay (@CryptoBot) joins the payment providers.
ALTER TABLE orders DROP CONSTRAINT orders_provider_check;
ALTER TABLE orders ADD CONSTRAINT orders_provider_check
  CHECK (provider IN ('yookassa', 'heleket', 'cryptopay', 'stars', 'balance'));
