#pragma once
#include <cstdint>
#include <string>

#include "core/config.hpp"

namespace vpnbot::ops {

// The operations section: encrypted database backups (`vpnbot admin backup`, and on a schedule by the scheduler).
struct Settings {
  std::string backup_dir;       // "" = no scheduled backups
  std::string backup_key_file;  // 32 bytes or 64 hex characters, mode 0600; required with backup_dir
  int backup_keep = 7;
  int backup_interval_hours = 24;
  int64_t backup_chat_id = 0;  // 0 = keep the backups on disk only
  int backup_send_max_mb = 20;
  std::string pg_bin_dir;  // where pg_dump and pg_restore are; "" = PATH
};
void declare_settings(ConfigSchema& schema, Settings& settings);

}  // namespace vpnbot::ops
