#pragma once
#include <functional>
#include <map>

#include "jobs/lease.hpp"
#include "jobs/queue.hpp"

namespace vpnbot::jobs {

// A periodic task becomes one job per time bucket; the bucket is in the unique key, so two leaders
// (e.g. during a lease hand-over) enqueue it once. The job's payload gets "at_ms": the bucket's start (Unix ms) by
// the scheduler's clock, which time-based work uses as "now".
struct PeriodicTask {
  std::string name;
  Millis interval;
  std::function<NewJob()> make_job;
};

using WallClock = std::function<std::chrono::system_clock::time_point()>;
// A clock that runs `scale` times faster than real time from `origin` (the same origin in every process keeps
// their buckets aligned). scale 1 is the real clock.
WallClock scaled_clock(int scale, std::chrono::system_clock::time_point origin);

class Scheduler {
 public:
  Scheduler(
      asio::any_io_executor ex, Queue& queue, LeaderLease& lease, std::vector<PeriodicTask> tasks,
      WallClock clock = [] { return std::chrono::system_clock::now(); }, Millis tick = Millis(1000));
  awaitable<void> run();
  void stop();
  // Enqueues every task whose bucket has not been enqueued yet; returns how many jobs were new.
  awaitable<int> tick();

 private:
  Queue& queue_;
  LeaderLease& lease_;
  std::vector<PeriodicTask> tasks_;
  WallClock clock_;
  Millis tick_;
  std::map<std::string, int64_t> enqueued_bucket_;  // skips a query per task per tick once its bucket is done
  Event wake_;
  bool stopping_ = false;
};

}  // namespace vpnbot::jobs
