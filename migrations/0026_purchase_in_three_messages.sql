-- A purchase reaches the buyer's chat in at most three new messages: the payment link replaces the status the
-- confirm screen turned into (the message the buyer pressed, kept on the order), and the receipt is the caption of
-- the first config when that config arrives soon enough (whichever of the two sends it first claims the receipt).

ALTER TABLE orders
  ADD COLUMN status_message_id bigint CHECK (status_message_id > 0),
  ADD COLUMN receipt_sent_at timestamptz;
-- Orders paid before this migration had their receipts sent (or queued) already.
UPDATE orders SET receipt_sent_at = coalesce(paid_at, closed_at, now()) WHERE state IN ('paid', 'credited');

-- The call to make instead when Telegram refuses an edit (the message was deleted or can no longer be edited):
-- {"method", "payload"}; the row is then sent as that call at once.
ALTER TABLE outbox ADD COLUMN fallback jsonb;

-- The sender keeps a chat's order: a pending row waits for the chat's earlier pending rows (looked up here).
CREATE INDEX outbox_chat_pending ON outbox (chat_id, id) WHERE state = 'pending';
