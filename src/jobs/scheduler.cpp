#include "jobs/scheduler.hpp"

#include "core/log.hpp"

namespace vpnbot::jobs {

WallClock scaled_clock(int scale, std::chrono::system_clock::time_point origin) {
  if (scale <= 1) return [] { return std::chrono::system_clock::now(); };
  return [scale, origin] { return origin + (std::chrono::system_clock::now() - origin) * scale; };
}

Scheduler::Scheduler(asio::any_io_executor ex, Queue& queue, LeaderLease& lease, std::vector<PeriodicTask> tasks,
                     WallClock clock, Millis tick)
    : queue_(queue), lease_(lease), tasks_(std::move(tasks)), clock_(std::move(clock)), tick_(tick), wake_(ex) {}

void Scheduler::stop() {
  stopping_ = true;
  wake_.notify();
}

awaitable<int> Scheduler::tick() {
  int created = 0;
  auto now_ms = std::chrono::duration_cast<Millis>(clock_().time_since_epoch()).count();
  for (const auto& task : tasks_) {
    if (!lease_.held()) break;  // stop the moment leadership is in doubt
    auto bucket = now_ms / task.interval.count();
    auto it = enqueued_bucket_.find(task.name);
    if (it != enqueued_bucket_.end() && it->second == bucket) continue;
    NewJob job = task.make_job();
    job.unique_key = task.name + ":" + std::to_string(bucket);
    // The moment the job stands for, by the scheduler's clock (injectable: tests run days in seconds).
    if (job.payload.is_object() && !job.payload.contains("at_ms"))
      job.payload["at_ms"] = bucket * task.interval.count();
    auto id = co_await queue_.enqueue(job);
    if (id) ++created;
    enqueued_bucket_[task.name] = bucket;
  }
  co_return created;
}

awaitable<void> Scheduler::run() {
  while (!stopping_) {
    if (lease_.held()) {
      try {
        co_await tick();
      } catch (const std::exception& e) {
        log::warn("scheduler", "tick failed", {{"error", e.what()}});
      }
    }
    wake_.reset();
    // stop() may have come during the last await: its notification must not be reset away.
    if (!stopping_) co_await wake_.wait_for(tick_);
  }
}

}  // namespace vpnbot::jobs
