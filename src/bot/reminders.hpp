#pragma once
#include <vector>

#include "bot/bot.hpp"
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"

namespace vpnbot::bot {

struct ReminderOptions {
  std::vector<int> hours{72, 24, 0};  // before expiry; 0 = at expiry
  Millis lookback{6 * 3600 * 1000};   // a reminder (or auto-renewal) is still made if at most this late
  Millis auto_renew_before{12 * 3600 * 1000};
};

// Scheduled notices (jobs enqueued by the scheduler leader, run by workers, "now" = the job's at_ms):
//   billing.reminders   expiry reminders, once per (subscription, expiry, offset) by the outbox unique key, so a
//                       renewal (a new expiry) silently retires the old schedule; unreachable and banned users skipped
//   billing.auto_renew  renews before expiry, one attempt per expiry: charges the saved card (by a
//                       billing.charge_saved_method job) when there is one, else pays from the balance, or says how
//                       much is missing
void register_reminder_jobs(jobs::Worker& worker, const Bot& bot, ReminderOptions options);
// Pays the next period of `plan_id` from the balance when it covers the price, else tells the user what is missing
// (once per expiry). `card_declined`: why the saved card was not charged, said first.
// One auto-renewal attempt per expiry: claims the subscription's `expiry` (as the due query read it, text) and
// returns its plan, or nullopt when that expiry was tried already or has moved (a renewal came first).
awaitable<std::optional<int64_t>> claim_auto_renewal(db::Transaction& tx, int64_t subscription_id,
                                                     const std::string& expiry);
awaitable<void> renew_from_balance_or_tell(db::Transaction& tx, const Bot& bot, int64_t user_id, int64_t plan_id,
                                           std::string card_declined);
std::vector<jobs::PeriodicTask> reminder_tasks();

}  // namespace vpnbot::bot
