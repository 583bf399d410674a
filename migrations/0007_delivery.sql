-- Delivery classes of outbound messages: what a sender that died mid-call leaves behind is resent
-- (at_least_once: replies, receipts, configs) or given up as ambiguous (at_most_once: broadcasts, reminders).
ALTER TABLE outbox ADD COLUMN delivery text NOT NULL DEFAULT 'at_least_once'
  CHECK (delivery IN ('at_least_once', 'at_most_once'));
UPDATE outbox SET delivery = 'at_most_once'
WHERE broadcast_id IS NOT NULL OR unique_key LIKE 'reminder:%' OR unique_key LIKE 'referral-joined:%';
