#pragma once
#include <functional>
#include <map>

#include "core/leased_consumer.hpp"
#include "jobs/queue.hpp"

namespace vpnbot::jobs {

// Thrown by a handler for input that can never succeed (malformed payload): the job goes dead at once.
class PermanentJobError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct JobContext {
  const ClaimedJob& job;
  db::Pool& pool;
  const std::string& owner;
  std::function<bool()> stopping;  // the worker is stopping: a long handler ends early and is retried later
  bool completed = false;

  // Marks the job done inside the handler's transaction, so its effects and completion commit together.
  awaitable<void> complete_in(db::Transaction& tx) {
    co_await Queue::complete(tx, job, owner);
    completed = true;
  }
};

using JobHandler = std::function<awaitable<void>(JobContext&)>;

struct WorkerOptions {
  std::string owner;  // unique per process: locks and leases are fenced by it
  int concurrency = 16;
  Millis lease{60000};
  Millis poll_interval{1000};
};

struct WorkerStats {
  uint64_t claimed = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t lease_lost = 0;
};

// Runs jobs from the queue: up to `concurrency` at once as coroutines on one executor, extends the leases
// of running jobs, and retries failures with backoff. Wake it with wake() (e.g. from a LISTEN listener).
class Worker : public LeasedQueueComponent<ClaimedJob> {
 public:
  Worker(asio::any_io_executor ex, db::Pool& pool, WorkerOptions options);

  // Handlers are registered before start().
  void on(const std::string& kind, JobHandler handler) { handlers_[kind] = std::move(handler); }
  std::string name() const override { return "jobs-worker"; }
  const WorkerStats& stats() const { return stats_; }

 private:
  awaitable<std::vector<ClaimedJob>> claim(int capacity) override;
  awaitable<void> process(ClaimedJob job) override;
  int64_t key(const ClaimedJob& job) const override { return job.id; }
  awaitable<void> extend(const std::vector<int64_t>& ids) override;

  db::Pool& pool_;
  Queue queue_;
  WorkerOptions options_;
  std::map<std::string, JobHandler> handlers_;
  WorkerStats stats_;
};

}  // namespace vpnbot::jobs
