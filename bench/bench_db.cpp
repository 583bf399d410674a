// Side-by-side figures for the foundation (original risk 1 and the job queue), measured in one run:
//   1. pooled queries vs a new connection per query, same concurrency, same server;
//   2. job queue throughput: enqueue, and claim+complete with 1 and 4 workers.
// Starts its own throwaway PostgreSQL (fsync on: queue figures include real commits). Bounded by --queries/--jobs.
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "bench_support.hpp"
#include "core/asio.hpp"
#include "core/log.hpp"
#include "db/local_cluster.hpp"
#include "db/migrations.hpp"
#include "db/pool.hpp"
#include "jobs/queue.hpp"
#include "jobs/worker.hpp"

using namespace vpnbot;
using vpnbot::bench::run_on;
using vpnbot::bench::seconds_since;

namespace {

// `concurrency` coroutines share `total` iterations of `step`; returns elapsed seconds.
awaitable<double> fan_out(int concurrency, int total, std::function<awaitable<void>()> step) {
  auto ex = co_await asio::this_coro::executor;
  int next = 0, running = concurrency;
  Event done(ex);
  auto start = Clock::now();
  for (int c = 0; c < concurrency; ++c) {
    asio::co_spawn(
        ex,
        [&]() -> awaitable<void> {
          while (next < total) {
            ++next;
            co_await step();
          }
        },
        [&](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
          if (--running == 0) done.notify();
        });
  }
  co_await done.wait_for(std::chrono::minutes(10));
  co_return seconds_since(start);
}

struct Row {
  std::string name;
  double value;
  std::string unit;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vpnbot foundation benchmarks"};
  int queries = 4000, jobs_total = 10000, concurrency = 32;
  app.add_option("--queries", queries, "queries per variant");
  app.add_option("--jobs", jobs_total, "jobs per queue variant");
  app.add_option("--concurrency", concurrency, "concurrent callers");
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return 1;
  log::init("warning");

  bench::BenchDatabase database(4, 8);
  auto& io = database.io;
  auto& blocking = database.blocking;
  auto& pool = database.pool;
  auto url = database.cluster->url();
  std::vector<Row> rows;

  // 1. Pool vs connect-per-query (the original opened a connection for every query).
  double pooled =
      run_on(io, fan_out(concurrency, queries, [&]() -> awaitable<void> { co_await pool.exec("SELECT $1::int", 1); }));
  double connecting = run_on(io, fan_out(concurrency, queries, [&]() -> awaitable<void> {
                               auto conn =
                                   co_await db::Connection::connect(blocking.get_executor(), url, Millis(10000));
                               co_await conn->query("SELECT 1", {}, Millis(10000));
                             }));
  rows.push_back({"pooled queries/s (pool of 8)", queries / pooled, "q/s"});
  rows.push_back({"connect-per-query queries/s", queries / connecting, "q/s"});
  rows.push_back({"ratio pool / connect-per-query", connecting / pooled, "x"});

  // 2. Queue: enqueue throughput, then drain with 1 and with 4 workers (each with its own pool, like processes).
  jobs::Queue queue(pool);
  for (int workers : {1, 4}) {
    run_on(io, pool.query("TRUNCATE jobs"));
    double enqueue_s = run_on(io, fan_out(concurrency, jobs_total, [&]() -> awaitable<void> {
                                jobs::NewJob job{.kind = "bench.noop"};
                                co_await queue.enqueue(job);
                              }));
    if (workers == 1) rows.push_back({"enqueue jobs/s", jobs_total / enqueue_s, "jobs/s"});
    std::vector<std::unique_ptr<db::Pool>> pools;
    std::vector<std::unique_ptr<jobs::Worker>> list;
    uint64_t done = 0;
    for (int w = 0; w < workers; ++w) {
      pools.push_back(std::make_unique<db::Pool>(io.get_executor(), blocking.get_executor(), db::PoolOptions{url, 4}));
      list.push_back(std::make_unique<jobs::Worker>(
          io.get_executor(), *pools.back(),
          jobs::WorkerOptions{"bench-" + std::to_string(w), 16, Millis(60000), Millis(20)}));
      list.back()->on("bench.noop", [&](jobs::JobContext& ctx) -> awaitable<void> {
        ++done;
        co_return;
      });
    }
    auto start = Clock::now();
    for (auto& w : list) w->start();
    asio::steady_timer poll(io);
    std::function<void()> check = [&] {
      if (done >= static_cast<uint64_t>(jobs_total)) {
        asio::co_spawn(
            io,
            [&]() -> awaitable<void> {
              for (auto& w : list) co_await w->stop(Clock::now() + Millis(1000));
            },
            asio::detached);
        return;
      }
      poll.expires_after(Millis(5));
      poll.async_wait([&](auto) { check(); });
    };
    check();
    io.restart();
    io.run();
    rows.push_back(
        {"claim+complete jobs/s, " + std::to_string(workers) + " worker(s)", done / seconds_since(start), "jobs/s"});
    for (auto& p : pools) p->close();
  }
  pool.close();

  std::cout << "\n| benchmark (db + queue) | value | unit |\n|---|---:|---|\n";
  for (const auto& r : rows)
    std::cout << "| " << r.name << " | " << fmt::format("{:.1f}", r.value) << " | " << r.unit << " |\n";
  return 0;
}
