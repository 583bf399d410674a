#include "jobs/settings.hpp"

namespace vpnbot::jobs {

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.integer("worker_concurrency", s.worker_concurrency, 1, 10000, "Jobs a worker process runs at once.");
  schema.integer("job_lease_ms", s.job_lease_ms, 1000, 86400000,
                 "A claimed job returns to the queue if its worker is silent this long.");
  schema.integer("job_poll_interval_ms", s.poll_interval_ms, 10, 600000,
                 "Idle workers poll at least this often (NOTIFY wakes them sooner).");
  schema.integer("lease_ttl_ms", s.lease_ttl_ms, 1000, 3600000,
                 "Leader lease lifetime (scheduler, poller); renewed at a third of it.");
  schema.integer("retention_days", s.retention_days, 1, 3650,
                 "Handled updates, finished jobs and sent messages are deleted after this many days.");
  schema.integer("scheduler_time_scale", s.scheduler_time_scale, 1, 1000000,
                 "For tests and demos only: the scheduler's clock runs this many times faster than real time.");
  schema.integer("scheduler_tick_ms", s.scheduler_tick_ms, 10, 60000,
                 "How often the scheduler leader checks for due periodic work.");
  schema.integer("scheduler_time_origin_ms", s.scheduler_time_origin_ms, 0, int64_t(1) << 50,
                 "With scheduler_time_scale: the Unix ms where the fast clock starts (the same in every process); 0 = "
                 "process start.");
}

}  // namespace vpnbot::jobs
