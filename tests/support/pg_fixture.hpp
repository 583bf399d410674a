#pragma once
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>
#include <string>

#include "core/asio.hpp"
#include "db/local_cluster.hpp"
#include "db/pool.hpp"

namespace vpnbot::testing {

// One throwaway PostgreSQL 15 cluster per test binary (registered as a gtest Environment).
db::LocalCluster& cluster();
// Runs one SQL statement synchronously (test setup only); throws with the server's message.
void exec_sync(const std::string& url, const std::string& sql);
// Single-value query, synchronously.
std::string query_value_sync(const std::string& url, const std::string& sql);
// Every text, bytea, json and array column of the public schema holding `needle` in some row, as "table.column "
// entries ("" when none): a secret must be in none of them.
std::string columns_containing(const std::string& url, const std::string& needle);
// True when TEST_VIA_PGBOUNCER=1: every database URL handed to tests goes through pgbouncer in
// transaction mode (the suite then proves the code relies on no session state).
bool via_pgbouncer();
// The URL of the same database, always straight to PostgreSQL (LISTEN, pg_terminate_backend, ...).
std::string direct_url(const std::string& url);
// A new database cloned from a template that already has every migration applied.
std::string fresh_database_url();
// A new empty database (no migrations), for migration tests.
std::string empty_database_url();

// Base fixture: an io_context, a blocking helper pool and a fresh migrated database.
class AsyncDbTest : public ::testing::Test {
 protected:
  void SetUp() override { url = fresh_database_url(); }
  // One integer from a query on the test's database (setup and assertions).
  int64_t count(const std::string& sql) { return std::stoll(query_value_sync(url, sql)); }

  std::unique_ptr<db::Pool> make_pool(int max_size = 8, Millis acquire_timeout = Millis(5000),
                                      Millis query_timeout = Millis(30000), int max_waiting = 100000) {
    return std::make_unique<db::Pool>(
        io.get_executor(), blocking.get_executor(),
        db::PoolOptions{url, max_size, max_waiting, acquire_timeout, Millis(5000), query_timeout});
  }

  // Runs the coroutine to completion on io (with a deadline so a bug cannot hang the suite) and rethrows.
  template <typename T>
  T run(awaitable<T> task, Millis deadline = Millis(120000)) {
    std::exception_ptr error;
    bool done = false;
    std::optional<std::conditional_t<std::is_void_v<T>, int, T>> value;
    if constexpr (std::is_void_v<T>) {
      asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
        error = e;
        done = true;
      });
    } else {
      asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e) value = std::move(v);
        done = true;
      });
    }
    io.restart();
    auto until = Clock::now() + deadline;
    while (!done && Clock::now() < until) {
      if (io.stopped()) io.restart();  // an io_context that ran out of work stays stopped until restarted
      io.run_one_for(Millis(100));
    }
    if (!done) throw std::runtime_error("test coroutine did not finish before its deadline");
    if (error) std::rethrow_exception(error);
    if constexpr (!std::is_void_v<T>) return std::move(*value);
  }

  asio::io_context io{1};
  asio::thread_pool blocking{2};
  std::string url;
};

}  // namespace vpnbot::testing
