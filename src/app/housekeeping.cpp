#include "app/housekeeping.hpp"

#include "core/log.hpp"

namespace vpnbot::app {
namespace {
// Done jobs are kept this long: their unique keys keep deduplicating re-enqueues meanwhile.
constexpr int kDoneJobRetentionDays = 30;
constexpr int kDeleteBatch = 5000;
}  // namespace

std::vector<jobs::PeriodicTask> housekeeping_tasks() {
  return {{"jobs.purge_done", Millis(3600 * 1000), [] { return jobs::NewJob{.kind = "jobs.purge_done"}; }}};
}

void register_housekeeping_handlers(jobs::Worker& worker) {
  worker.on("jobs.purge_done", [](jobs::JobContext& ctx) -> awaitable<void> {
    // Bounded batches: never one statement over an unbounded set.
    int64_t total = 0;
    for (;;) {
      auto r = co_await ctx.pool.exec(R"sql(
DELETE FROM jobs WHERE id IN (
  SELECT id FROM jobs WHERE state = 'done' AND finished_at < now() - make_interval(days => $1) LIMIT $2))sql",
                                      kDoneJobRetentionDays, kDeleteBatch);
      total += r.affected();
      if (r.affected() < kDeleteBatch) break;
    }
    if (total > 0) log::info("jobs", "purged finished jobs", {{"deleted", total}});
  });
}

}  // namespace vpnbot::app
