#include "db/migrations.hpp"

#include <sodium.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "core/log.hpp"
#include "db/pool.hpp"

namespace vpnbot::db {
namespace {

// Arbitrary constant shared by every vpnbot process: "vpnbot migrations".
constexpr const char* kMigrationLockKey = "7262021001";

constexpr const char* kCreateTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text        NOT NULL,
  checksum   text        NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";

std::string checksum(const std::string& sql) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(sql.data()), sql.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

void check_files(const std::vector<MigrationFile>& files) {
  std::set<int> seen;
  for (const auto& f : files)
    if (!seen.insert(f.version).second)
      throw std::runtime_error("migrations: version " + std::to_string(f.version) + " appears twice");
}

}  // namespace

awaitable<MigrationStatus> migration_status(Pool& pool, const std::vector<MigrationFile>& files) {
  MigrationStatus status;
  for (const auto& f : files) status.latest_version = std::max(status.latest_version, f.version);
  auto exists = co_await pool.query("SELECT to_regclass('schema_migrations') IS NOT NULL");
  std::set<int> applied;
  if (exists.get<bool>(0, 0)) {
    auto rows = co_await pool.query("SELECT version FROM schema_migrations");
    for (int i = 0; i < rows.rows(); ++i) applied.insert(rows.get<int>(i, 0));
  }
  if (!applied.empty()) status.applied_version = *applied.rbegin();
  for (const auto& f : files)
    if (!applied.count(f.version)) status.pending.push_back(f.version);
  std::sort(status.pending.begin(), status.pending.end());
  co_return status;
}

awaitable<int> migrate(Pool& pool, const std::vector<MigrationFile>& files_in) {
  check_files(files_in);
  std::vector<MigrationFile> files = files_in;
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
  int applied_now = 0;
  for (;;) {
    // One transaction per migration: the lock is released at commit, so a failing file leaves the
    // earlier ones applied and the failing one fully rolled back.
    auto applied = co_await pool.transaction([&](Transaction& tx) -> awaitable<std::optional<int>> {
      co_await tx.query(std::string("SELECT pg_advisory_xact_lock(") + kMigrationLockKey + ")");
      co_await tx.query(kCreateTable);
      auto rows = co_await tx.query("SELECT version, name, checksum FROM schema_migrations");
      std::map<int, std::string> done;
      for (int i = 0; i < rows.rows(); ++i) done[rows.get<int>(i, 0)] = rows.get<std::string>(i, 2);
      for (const auto& f : files) {
        auto it = done.find(f.version);
        if (it != done.end()) {
          if (it->second != checksum(f.sql))
            throw std::runtime_error("migrations: " + f.name +
                                     " was changed after it was applied; add a new file instead");
          continue;
        }
        co_await tx.execute_script(f.sql);
        co_await tx.exec("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", f.version,
                         f.name, checksum(f.sql));
        co_return f.version;
      }
      if (!done.empty() && done.rbegin()->first > (files.empty() ? 0 : files.back().version))
        log::warn("db", "database schema is newer than this binary", {{"database_version", done.rbegin()->first}});
      co_return std::nullopt;
    });
    if (!applied) break;
    ++applied_now;
    log::info("db", "migration applied", {{"version", *applied}});
  }
  co_return applied_now;
}

}  // namespace vpnbot::db
