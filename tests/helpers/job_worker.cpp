// A worker process for fault tests: runs test.* jobs until killed.
//   job_worker URL OWNER LEASE_MS
// test.effect: records (job id, attempt) in test_effects, completing the job in the same transaction.
// test.slow:   records that it started, then sleeps payload.ms before finishing like test.effect.
#include <sodium.h>

#include <iostream>

#include "db/pool.hpp"
#include "jobs/worker.hpp"

using namespace vpnbot;

int main(int argc, char** argv) {
  if (argc != 4 || sodium_init() < 0) {
    std::cerr << "usage: job_worker URL OWNER LEASE_MS\n";
    return 2;
  }
  asio::io_context io(1);
  asio::thread_pool blocking(1);
  db::Pool pool(io.get_executor(), blocking.get_executor(), db::PoolOptions{argv[1], 4});
  jobs::Worker worker(io.get_executor(), pool, jobs::WorkerOptions{argv[2], 4, Millis(std::stoi(argv[3])), Millis(50)});
  auto record = [](jobs::JobContext& ctx) -> awaitable<void> {
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      co_await tx.exec("INSERT INTO test_effects (job_id, attempt, owner) VALUES ($1, $2, $3)", ctx.job.id,
                       ctx.job.attempt, ctx.owner);
      co_await ctx.complete_in(tx);
    });
  };
  worker.on("test.effect", record);
  worker.on("test.slow", [record](jobs::JobContext& ctx) -> awaitable<void> {
    co_await ctx.pool.exec("INSERT INTO test_started (job_id, attempt, owner) VALUES ($1, $2, $3)", ctx.job.id,
                           ctx.job.attempt, ctx.owner);
    co_await sleep_for(Millis(ctx.job.payload.value("ms", 0)));
    co_await record(ctx);
  });
  worker.start();  // runs until the process is killed
  io.run();
  return 0;
}
