#include "app/housekeeping.hpp"

#include "core/log.hpp"

namespace vpnbot::app {
namespace {
constexpr int kDeleteBatch = 5000;
}  // namespace

std::vector<jobs::PeriodicTask> housekeeping_tasks() {
  return {{"housekeeping.purge", Millis(3600 * 1000), [] { return jobs::NewJob{.kind = "housekeeping.purge"}; }}};
}

awaitable<int64_t> purge_finished(db::Pool& pool, int retention_days) {
  // Done jobs are kept as long as the rest: their unique keys keep deduplicating re-enqueues meanwhile.
  static const char* statements[] = {
      "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state = 'done' AND finished_at < now() - "
      "make_interval(days => $1) LIMIT $2)",
      "DELETE FROM tg_inbox WHERE update_id IN (SELECT update_id FROM tg_inbox WHERE state IN ('done', 'failed', "
      "'skipped') AND finished_at < now() - make_interval(days => $1) LIMIT $2)",
      // Outbox rows carry unique keys too (reminders, receipts): kept as long, then only finished ones go.
      "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE state IN ('sent', 'failed', 'blocked', "
      "'ambiguous', 'cancelled') AND created_at < now() - make_interval(days => $1) LIMIT $2)",
      // Diagnostic samples of refused input: older than the retention, or beyond the newest few thousand per
      // provider / source, go (they are sampled at the gateway, this is the hard bound).
      "DELETE FROM payment_rejections WHERE id IN (SELECT id FROM (SELECT id, received_at, row_number() OVER "
      "(PARTITION BY provider ORDER BY id DESC) AS newest FROM payment_rejections) r WHERE newest > 2000 OR "
      "received_at < now() - make_interval(days => $1) LIMIT $2)",
      "DELETE FROM tg_malformed WHERE id IN (SELECT id FROM (SELECT id, received_at, row_number() OVER "
      "(PARTITION BY source ORDER BY id DESC) AS newest FROM tg_malformed) m WHERE newest > 2000 OR "
      "received_at < now() - make_interval(days => $1) LIMIT $2)",
      // Per-user budgets: the longest window is a day, so older rows count nothing.
      "DELETE FROM user_budgets WHERE (user_id, kind) IN (SELECT user_id, kind FROM user_budgets WHERE window_start "
      "< now() - make_interval(days => least($1, 2)) LIMIT $2)"};
  int64_t total = 0;
  for (const char* sql : statements) {
    for (;;) {  // bounded batches: never one statement over an unbounded set
      auto r = co_await pool.exec(sql, retention_days, kDeleteBatch);
      total += r.affected();
      if (r.affected() < kDeleteBatch) break;
    }
  }
  co_return total;
}

void register_housekeeping_handlers(jobs::Worker& worker, int retention_days) {
  worker.on("housekeeping.purge", [retention_days](jobs::JobContext& ctx) -> awaitable<void> {
    auto deleted = co_await purge_finished(ctx.pool, retention_days);
    if (deleted > 0) log::info("housekeeping", "purged finished rows", {{"deleted", deleted}});
  });
}

}  // namespace vpnbot::app
