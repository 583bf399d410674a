#pragma once
#include <string>

#include "core/config.hpp"

namespace vpnbot::db {

// The database section: where PostgreSQL is and the deadlines of every wait on it.
struct Settings {
  std::string url;
  std::string listen_url;  // LISTEN needs a session: direct to PostgreSQL, not via pgbouncer (default: url)
  int pool_max = 8;
  int pool_queue_max = 1000;
  int acquire_timeout_ms = 5000;
  int connect_timeout_ms = 5000;
  int query_timeout_ms = 30000;
  int transaction_timeout_ms = 60000;
};
void declare_settings(ConfigSchema& schema, Settings& settings);
void finish_settings(Settings& settings);

}  // namespace vpnbot::db
