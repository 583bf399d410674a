#pragma once
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"

namespace vpnbot::app {

// Foundation-level periodic work: trimming finished jobs. Domain modules add their own tasks beside it.
std::vector<jobs::PeriodicTask> housekeeping_tasks();
void register_housekeeping_handlers(jobs::Worker& worker);

}  // namespace vpnbot::app
