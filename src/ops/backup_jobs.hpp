#pragma once
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"
#include "ops/settings.hpp"

namespace vpnbot::ops {

struct BackupJobOptions {
  Settings settings;
  std::string database_url;        // straight to PostgreSQL (pg_dump needs a session of its own, not pgbouncer)
  asio::any_io_executor blocking;  // pg_dump is streamed and encrypted here, off the event loop
  bool telegram_on = false;        // the outbox is sent by somebody: a backup may go to backup_chat_id
};

// `ops.backup`: one encrypted backup (make_backup), then, when backup_chat_id is set and the file is small enough,
// a sendDocument of it through the outbox (unique per file, so a retried job sends it once). A worker that stops
// meanwhile abandons the backup (the job is retried).
void register_backup_jobs(jobs::Worker& worker, BackupJobOptions options);
// Every backup_interval_hours while backup_dir is set; none otherwise.
std::vector<jobs::PeriodicTask> backup_tasks(const Settings& settings);

}  // namespace vpnbot::ops
