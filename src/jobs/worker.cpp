#include "jobs/worker.hpp"

#include "core/log.hpp"

namespace vpnbot::jobs {

Worker::Worker(asio::any_io_executor ex, db::Pool& pool, WorkerOptions options)
    : LeasedQueueComponent(ex, {"jobs", options.concurrency, options.poll_interval, options.lease / 3}),
      pool_(pool),
      queue_(pool),
      options_(std::move(options)) {}

awaitable<std::vector<ClaimedJob>> Worker::claim(int capacity) {
  // Only claim kinds this worker can handle: other processes may run other handlers.
  std::vector<std::string> kinds;
  for (const auto& [kind, _] : handlers_) kinds.push_back(kind);
  if (kinds.empty()) co_return std::vector<ClaimedJob>{};
  auto jobs = co_await queue_.claim(kinds, capacity, options_.owner, options_.lease);
  stats_.claimed += jobs.size();
  co_return jobs;
}

awaitable<void> Worker::extend(const std::vector<int64_t>& ids) {
  co_await queue_.extend_leases(ids, options_.owner, options_.lease);
  co_await queue_.bury_expired();
}

awaitable<void> Worker::process(ClaimedJob job) {
  auto it = handlers_.find(job.kind);
  JobContext ctx{job, pool_, options_.owner, [this] { return consumer_.stopping(); }};
  std::string error;
  bool permanent = false;
  bool lease_lost = false;
  try {
    co_await it->second(ctx);
    if (!ctx.completed) co_await queue_.complete(job, options_.owner);
  } catch (const LeaseLost& e) {
    lease_lost = true;
    error = e.what();
  } catch (const PermanentJobError& e) {
    permanent = true;
    error = e.what();
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (lease_lost) {
    ++stats_.lease_lost;
    log::warn("jobs", "job lease lost before completion", {{"job_id", job.id}, {"kind", job.kind}});
  } else if (!error.empty()) {
    ++stats_.failed;
    bool final = permanent || job.attempt >= job.max_attempts;
    log::write(final ? spdlog::level::err : spdlog::level::warn, "jobs", final ? "job dead" : "job failed, will retry",
               {{"job_id", job.id}, {"kind", job.kind}, {"attempt", job.attempt}, {"error", error}});
    // When this throws the lease expires and the job is retried: nothing is lost.
    co_await queue_.fail(job, options_.owner, error, permanent);
  } else {
    ++stats_.succeeded;
  }
}

}  // namespace vpnbot::jobs
