#pragma once
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"

namespace vpnbot::app {

// Foundation-level periodic work: trimming finished jobs, handled updates and sent messages. Domain modules add
// their own tasks beside it.
std::vector<jobs::PeriodicTask> housekeeping_tasks();
void register_housekeeping_handlers(jobs::Worker& worker, int retention_days = 30);

// Deletes, in bounded batches, finished rows older than `retention_days`: done jobs, handled updates
// (tg_inbox done/failed/skipped) and finished outbox rows that are not broadcast rows of a live broadcast.
// Returns how many rows went.
awaitable<int64_t> purge_finished(db::Pool& pool, int retention_days);

}  // namespace vpnbot::app
