#include "jobs/worker.hpp"

#include "core/log.hpp"

namespace vpnbot::jobs {

Worker::Worker(asio::any_io_executor ex, db::Pool& pool, WorkerOptions options)
    : ex_(ex), pool_(pool), queue_(pool), options_(std::move(options)), wakeup_(ex), heartbeat_wake_(ex) {}

std::vector<std::string> Worker::kinds() const {
  std::vector<std::string> out;
  for (const auto& [kind, _] : handlers_) out.push_back(kind);
  return out;
}

void Worker::stop() {
  stopping_ = true;
  wakeup_.notify();
  heartbeat_wake_.notify();
}

awaitable<void> Worker::run(Millis drain) {
  // Only claim kinds this worker can handle: other processes may run other handlers.
  auto kinds = this->kinds();
  asio::co_spawn(ex_, heartbeat(), asio::detached);
  bool failing = false;
  while (!stopping_) {
    wakeup_.reset();
    int free = options_.concurrency - static_cast<int>(running_.size());
    int claimed = 0;
    if (free > 0 && !kinds.empty()) {
      std::string error;
      try {
        auto jobs = co_await queue_.claim(kinds, free, options_.owner, options_.lease);
        claimed = static_cast<int>(jobs.size());
        for (auto& job : jobs) {
          running_.insert(job.id);
          ++stats_.claimed;
          asio::co_spawn(ex_, execute(std::move(job)), asio::detached);
        }
        if (failing) log::info("jobs", "claiming recovered", {{"owner", options_.owner}});
        failing = false;
      } catch (const std::exception& e) {
        error = e.what();
      }
      if (!error.empty() && !failing) {  // log the start of an outage once, not every poll
        log::warn("jobs", "claiming failed, will retry", {{"owner", options_.owner}, {"error", error}});
        failing = true;
      }
    }
    if (claimed > 0 && claimed == free) continue;  // the queue may hold more: go again at once
    co_await wakeup_.wait_for(options_.poll_interval);
  }
  auto deadline = Clock::now() + drain;
  while (!running_.empty() && Clock::now() < deadline) {
    wakeup_.reset();
    co_await wakeup_.wait_until(deadline);
  }
  if (!running_.empty())
    log::warn("jobs", "stopped with jobs still running; their leases will expire",
              {{"owner", options_.owner}, {"running", running_.size()}});
  while (!heartbeat_done_) co_await sleep_for(Millis(5));
}

awaitable<void> Worker::execute(ClaimedJob job) {
  auto it = handlers_.find(job.kind);
  JobContext ctx{job, pool_, options_.owner};
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
    try {
      co_await queue_.fail(job, options_.owner, error, permanent);
    } catch (const std::exception& e) {
      // The lease then expires and the job is retried: nothing is lost.
      log::warn("jobs", "could not record job failure", {{"job_id", job.id}, {"error", e.what()}});
    }
  } else {
    ++stats_.succeeded;
  }
  running_.erase(job.id);
  wakeup_.notify();
}

awaitable<void> Worker::heartbeat() {
  auto interval = options_.lease / 3;
  while (!stopping_ || !running_.empty()) {
    heartbeat_wake_.reset();
    co_await heartbeat_wake_.wait_for(interval);
    if (running_.empty()) {
      if (stopping_) break;
      continue;
    }
    try {
      co_await queue_.extend_leases({running_.begin(), running_.end()}, options_.owner, options_.lease);
      co_await queue_.bury_expired();
    } catch (const std::exception& e) {
      log::warn("jobs", "lease extension failed", {{"owner", options_.owner}, {"error", e.what()}});
    }
    if (stopping_) break;
  }
  heartbeat_done_ = true;
}

}  // namespace vpnbot::jobs
