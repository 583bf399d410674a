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
//   billing.auto_renew  pays the next period from the balance before expiry (one attempt per expiry), or says
//                       how much is missing
void register_reminder_jobs(jobs::Worker& worker, const Bot& bot, ReminderOptions options);
std::vector<jobs::PeriodicTask> reminder_tasks();

}  // namespace vpnbot::bot
