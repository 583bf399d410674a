#pragma once
#include <functional>

#include "core/event.hpp"
#include "core/task_group.hpp"
#include "db/pool.hpp"

namespace vpnbot::jobs {

// A named lease in PostgreSQL (leader election). Acquire and renew are one conditional upsert, so it is
// pgbouncer-safe and uses the database clock. Locally the holder considers itself leader only until
// (time the renewal was sent + ttl - margin): if renewals fail it stops before anyone else can take over.
class LeaderLease {
 public:
  LeaderLease(asio::any_io_executor ex, db::Pool& pool, std::string key, std::string owner, Millis ttl);

  // One acquire-or-renew attempt; true when this owner holds the lease afterwards.
  awaitable<bool> try_acquire();
  awaitable<void> release();

  // Keeps trying to acquire and then renews every ttl/3 until stop(); releases on stop.
  awaitable<void> run();
  void stop();

  bool held() const { return held_ && Clock::now() < valid_until_; }
  // Called on gaining and losing leadership (losing includes failing to renew in time).
  std::function<void()> on_acquired;
  std::function<void()> on_lost;
  const std::string& key() const { return key_; }

 private:
  void set_held(bool held);
  // Drops leadership exactly when local validity ends, even while a renewal is stuck in a slow query
  // (e.g. pgbouncer holding it while PostgreSQL restarts).
  awaitable<void> watchdog();

  db::Pool& pool_;
  std::string key_;
  std::string owner_;
  Millis ttl_;
  Clock::time_point valid_until_{};
  bool held_ = false;
  bool stopping_ = false;
  Event wake_;
  asio::steady_timer watchdog_timer_;
  TaskGroup watchdog_group_;
};

}  // namespace vpnbot::jobs
