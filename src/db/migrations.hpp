#pragma once
#include <string>
#include <vector>

#include "core/asio.hpp"

namespace vpnbot::db {

class Pool;

struct MigrationFile {
  int version;
  std::string name;
  std::string sql;
};

// Built from migrations/*.sql at compile time.
const std::vector<MigrationFile>& embedded_migrations();

struct MigrationStatus {
  int applied_version = 0;  // highest applied
  int latest_version = 0;   // highest this binary knows
  std::vector<int> pending;
  bool up_to_date() const { return pending.empty(); }
};

// Applies pending migrations, each in its own transaction under a transaction-scoped advisory lock
// (pgbouncer-safe), recording version, name and checksum. Refuses to run if an applied migration's file
// changed. Returns the number applied; concurrent callers wait for each other and apply each file once.
awaitable<int> migrate(Pool& pool, const std::vector<MigrationFile>& files);
awaitable<MigrationStatus> migration_status(Pool& pool, const std::vector<MigrationFile>& files);

}  // namespace vpnbot::db
