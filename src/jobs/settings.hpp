#pragma once
#include <cstdint>

#include "core/config.hpp"

namespace vpnbot::jobs {

// The jobs section: workers, leases, the scheduler's clock and how long finished work is kept.
struct Settings {
  int worker_concurrency = 16;
  int job_lease_ms = 60000;
  int poll_interval_ms = 1000;
  int lease_ttl_ms = 15000;
  int retention_days = 30;
  int scheduler_time_scale = 1;
  int scheduler_tick_ms = 1000;
  int64_t scheduler_time_origin_ms = 0;
};
void declare_settings(ConfigSchema& schema, Settings& settings);

}  // namespace vpnbot::jobs
