-- A message's files (a delivered .conf with its PrivateKey and PresharedKey, its QR code, an encrypted backup) are
-- kept only until the message is delivered or given up on: every final state drops them, whichever statement sets
-- it, so no database reader (nor a later backup) finds them in plaintext. Rows already final lose theirs now.
CREATE FUNCTION outbox_forget_files() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.files := NULL;
  RETURN NEW;
END $$;

CREATE TRIGGER outbox_forget_files BEFORE INSERT OR UPDATE OF state ON outbox
  FOR EACH ROW WHEN (NEW.state NOT IN ('pending', 'sending', 'held') AND NEW.files IS NOT NULL)
  EXECUTE FUNCTION outbox_forget_files();

UPDATE outbox SET files = NULL WHERE state NOT IN ('pending', 'sending', 'held') AND files IS NOT NULL;
