#pragma once
#include <iostream>
#include <optional>
#include <string>

#include "core/asio.hpp"
#include "db/local_cluster.hpp"
#include "db/migrations.hpp"
#include "db/pool.hpp"

namespace vpnbot::bench {

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// One row of a benchmark's Markdown table, flushed at once (a long run shows progress).
inline void row(const std::string& name, const std::string& value) {
  std::cout << "| " << name << " | " << value << " |" << std::endl;
}

// Runs one coroutine to completion on `io` (benchmarks drive the loop step by step) and rethrows its error.
template <typename T>
T run_on(asio::io_context& io, awaitable<T> task) {
  std::exception_ptr error;
  std::optional<T> value;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value = std::move(v);
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

// The same while background coroutines (a worker, a listener) keep the loop busy: runs until `task` finished.
template <typename T>
T run_until_done(asio::io_context& io, awaitable<T> task) {
  std::exception_ptr error;
  std::optional<T> value;
  bool done = false;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value = std::move(v);
    done = true;
  });
  io.restart();
  while (!done) io.run_one_for(Millis(100));
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

// A throwaway PostgreSQL with fsync on (figures include real commits), every migration applied, and a pool on
// `io`. Members are destroyed in reverse order: the pool before its executors, the cluster last.
struct BenchDatabase {
  BenchDatabase(int blocking_threads, int pool_size)
      : cluster(start_cluster()),
        blocking(blocking_threads),
        pool(io.get_executor(), blocking.get_executor(), db::PoolOptions{cluster->url(), pool_size, 100000}) {
    run_on(io, db::migrate(pool, db::embedded_migrations()));
  }
  static std::unique_ptr<db::LocalCluster> start_cluster() {
    auto c = std::make_unique<db::LocalCluster>(db::LocalCluster::Options{.fsync = true});
    c->start();
    return c;
  }
  std::unique_ptr<db::LocalCluster> cluster;
  asio::io_context io{1};
  asio::thread_pool blocking;
  db::Pool pool;
};

}  // namespace vpnbot::bench
