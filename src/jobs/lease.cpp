#include "jobs/lease.hpp"

#include "core/log.hpp"

namespace vpnbot::jobs {

LeaderLease::LeaderLease(asio::any_io_executor ex, db::Pool& pool, std::string key, std::string owner, Millis ttl)
    : pool_(pool),
      key_(std::move(key)),
      owner_(std::move(owner)),
      ttl_(ttl),
      wake_(ex),
      watchdog_timer_(ex),
      watchdog_group_(ex, [](const std::string& task, const std::string& error) {
        log::error("lease", "watchdog failed", {{"task", task}, {"error", error}});
      }) {}

awaitable<bool> LeaderLease::try_acquire() {
  auto sent_at = Clock::now();
  auto r = co_await pool_.exec(R"sql(
INSERT INTO leases (key, owner, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3::double precision / 1000))
ON CONFLICT (key) DO UPDATE
SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at, renewed_at = now(),
    acquired_at = CASE WHEN leases.owner = EXCLUDED.owner THEN leases.acquired_at ELSE now() END
WHERE leases.owner = EXCLUDED.owner OR leases.expires_at < now()
RETURNING owner)sql",
                               key_, owner_, ttl_.count());
  bool ok = r.rows() == 1;
  if (ok) {
    // The server's expiry is at least sent_at + ttl; keep a margin for clock-rate differences.
    valid_until_ = sent_at + ttl_ - ttl_ / 10;
  }
  co_return ok;
}

awaitable<void> LeaderLease::release() {
  co_await pool_.exec("DELETE FROM leases WHERE key = $1 AND owner = $2", key_, owner_);
}

void LeaderLease::set_held(bool held) {
  if (held == held_) return;
  held_ = held;
  log::info("lease", held ? "lease acquired" : "lease lost", {{"key", key_}, {"owner", owner_}});
  if (held && on_acquired) on_acquired();
  if (!held && on_lost) on_lost();
}

void LeaderLease::stop() {
  stopping_ = true;
  wake_.notify();
  watchdog_timer_.cancel();
}

awaitable<void> LeaderLease::watchdog() {
  while (!stopping_) {
    if (held_ && Clock::now() >= valid_until_) set_held(false);
    auto next = Clock::now() + ttl_ / 3;
    if (held_ && valid_until_ < next) next = valid_until_;
    watchdog_timer_.expires_at(next);
    boost::system::error_code ec;
    co_await watchdog_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> LeaderLease::run() {
  watchdog_group_.spawn("lease-watchdog", watchdog());
  bool failing = false;
  while (!stopping_) {
    bool ok = false;
    std::string error;
    try {
      ok = co_await try_acquire();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty() && !failing) log::warn("lease", "lease renewal failed", {{"key", key_}, {"error", error}});
    failing = !error.empty();
    if (ok && Clock::now() < valid_until_) {
      set_held(true);
      watchdog_timer_.cancel();  // re-arm at the new validity
    } else if (held_ && (error.empty() || Clock::now() >= valid_until_)) {
      set_held(false);  // someone else holds it, or our local validity ran out
    }
    // Renew at a third of the ttl; while renewals fail, also wake exactly when local validity ends.
    auto next = Clock::now() + ttl_ / 3;
    if (held_ && valid_until_ < next) next = valid_until_;
    wake_.reset();
    // stop() may have come during the last await: its notification must not be reset away.
    if (!stopping_) co_await wake_.wait_until(next);
    if (held_ && Clock::now() >= valid_until_) set_held(false);
  }
  if (held_) {
    set_held(false);
    try {
      co_await release();
    } catch (const std::exception& e) {
      log::warn("lease", "lease release failed; it will expire", {{"key", key_}, {"error", e.what()}});
    }
  }
  watchdog_timer_.cancel();  // the watchdog returns on its next resumption
  co_await watchdog_group_.join(Clock::time_point::max());
}

}  // namespace vpnbot::jobs
