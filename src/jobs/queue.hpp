#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::jobs {

// NOTIFY channel that wakes idle workers; the payload is the job kind.
inline constexpr const char* kNotifyChannel = "vpnbot_jobs";

struct NewJob {
  std::string kind;
  nlohmann::json payload = nlohmann::json::object();
  std::optional<std::string> unique_key;  // an existing (kind, key) makes the enqueue a no-op
  Millis delay{0};
  int max_attempts = 10;
  int priority = 0;  // among due jobs, higher first (then the longest due)
  // Retries back off exponentially up to an hour; with a cap, up to about this (±25% jitter) instead.
  std::optional<Millis> max_backoff;
};

struct ClaimedJob {
  int64_t id = 0;
  std::string kind;
  nlohmann::json payload;
  int attempt = 0;  // 1 on the first run; also the fencing token for completion
  int max_attempts = 0;
};

struct QueueDepth {
  std::string kind;
  int64_t due = 0;
  int64_t running = 0;
  int64_t dead = 0;
  double oldest_due_seconds = 0;
};

// Raised when a worker tries to finish a job it no longer owns (its lease expired and someone else took it).
class LeaseLost : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The jobs table: the one queue. All functions are single statements (pgbouncer-safe).
class Queue {
 public:
  explicit Queue(db::Pool& pool) : pool_(pool) {}

  // Returns the new job id, or nullopt when the unique key already existed.
  awaitable<std::optional<int64_t>> enqueue(const NewJob& job);
  // The same inside a caller's transaction: the job exists only if that transaction commits.
  static awaitable<std::optional<int64_t>> enqueue(db::Transaction& tx, const NewJob& job);

  // Claims up to `limit` due jobs of the given kinds (empty = any) with a lease of `lease`.
  awaitable<std::vector<ClaimedJob>> claim(const std::vector<std::string>& kinds, int limit, const std::string& owner,
                                           Millis lease);
  // Marks done; throws LeaseLost if the job was re-claimed by someone else meanwhile.
  awaitable<void> complete(const ClaimedJob& job, const std::string& owner);
  // The same inside the handler's own transaction, so its effects and "done" commit together (exactly once).
  static awaitable<void> complete(db::Transaction& tx, const ClaimedJob& job, const std::string& owner);
  // Schedules a retry with exponential backoff and jitter, or marks dead after max_attempts.
  awaitable<void> fail(const ClaimedJob& job, const std::string& owner, const std::string& error,
                       bool permanent = false);
  // Extends the leases of jobs this owner is running; returns how many were extended.
  awaitable<int64_t> extend_leases(const std::vector<int64_t>& ids, const std::string& owner, Millis lease);
  // Jobs whose final attempt's lease ran out are dead (they would otherwise stay "running" forever).
  awaitable<int64_t> bury_expired();
  // Requeues a dead job by hand (admin).
  awaitable<bool> retry_dead(int64_t id);
  awaitable<std::vector<QueueDepth>> depth();

  // Delay before attempt n+1 after n failures: 2^n seconds capped at 1 h, with +-25% jitter.
  static Millis backoff_delay(int failed_attempts, double jitter_unit);

 private:
  db::Pool& pool_;
};

}  // namespace vpnbot::jobs
