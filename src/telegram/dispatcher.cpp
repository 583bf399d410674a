#include "telegram/dispatcher.hpp"

#include "core/log.hpp"

namespace vpnbot::telegram {

Dispatcher::Dispatcher(asio::any_io_executor ex, db::Pool& pool, UpdateHandler handler, FailureHandler on_failure,
                       DispatcherOptions options)
    : ex_(ex),
      pool_(pool),
      inbox_(pool),
      handler_(std::move(handler)),
      on_failure_(std::move(on_failure)),
      options_(std::move(options)),
      wakeup_(ex),
      heartbeat_wake_(ex) {}

void Dispatcher::stop() {
  stopping_ = true;
  wakeup_.notify();
  heartbeat_wake_.notify();
}

awaitable<void> Dispatcher::run(Millis drain) {
  asio::co_spawn(ex_, heartbeat(), asio::detached);
  bool failing = false;
  while (!stopping_) {
    wakeup_.reset();
    int free = options_.concurrency - static_cast<int>(running_.size());
    int claimed = 0;
    if (free > 0) {
      std::string error;
      try {
        auto updates = co_await inbox_.claim(free, options_.owner, options_.lease);
        claimed = static_cast<int>(updates.size());
        for (auto& u : updates) {
          running_.insert(u.update_id);
          asio::co_spawn(ex_, execute(std::move(u)), asio::detached);
        }
        if (failing) log::info("dispatcher", "claiming recovered");
        failing = false;
      } catch (const std::exception& e) {
        error = e.what();
      }
      if (!error.empty() && !failing) {
        log::warn("dispatcher", "claiming updates failed, will retry", {{"error", error}});
        failing = true;
      }
    }
    if (claimed > 0 && claimed == free) continue;
    co_await wakeup_.wait_for(options_.poll_interval);
  }
  auto deadline = Clock::now() + drain;
  while (!running_.empty() && Clock::now() < deadline) {
    wakeup_.reset();
    co_await wakeup_.wait_until(deadline);
  }
  heartbeat_wake_.notify();
  while (!heartbeat_done_) co_await sleep_for(Millis(5));
}

awaitable<void> Dispatcher::execute(InboxUpdate update) {
  std::string error;
  bool skip = false;
  try {
    co_await pool_.transaction([&](db::Transaction& tx) -> awaitable<void> {
      co_await handler_(tx, update);
      co_await Inbox::complete(tx, update, options_.owner);
    });
    ++stats_.handled;
  } catch (const SkipUpdate& e) {
    skip = true;
    error = e.what();
  } catch (const std::exception& e) {
    error = e.what();
  }
  try {
    if (skip) {
      ++stats_.skipped;
      log::warn("dispatcher", "update skipped", {{"update_id", update.update_id}, {"reason", error}});
      co_await inbox_.skip(update, options_.owner, error);
    } else if (!error.empty()) {
      ++stats_.failed;
      bool final = co_await inbox_.fail(update, options_.owner, error, options_.max_attempts);
      log::write(final ? spdlog::level::err : spdlog::level::warn, "dispatcher",
                 final ? "update failed for good" : "update failed, will retry",
                 {{"update_id", update.update_id}, {"attempt", update.attempt}, {"error", error}});
      if (final) {
        ++stats_.dead;
        if (on_failure_) co_await on_failure_(update);
      }
    }
  } catch (const std::exception& e) {
    // The lease expires and the update is claimed again: nothing is lost.
    log::warn("dispatcher", "could not record the update's outcome",
              {{"update_id", update.update_id}, {"error", e.what()}});
  }
  running_.erase(update.update_id);
  wakeup_.notify();
}

awaitable<void> Dispatcher::heartbeat() {
  while (!stopping_ || !running_.empty()) {
    heartbeat_wake_.reset();
    co_await heartbeat_wake_.wait_for(options_.lease / 3);
    if (running_.empty()) {
      if (stopping_) break;
      continue;
    }
    try {
      co_await inbox_.extend_leases({running_.begin(), running_.end()}, options_.owner, options_.lease);
    } catch (const std::exception& e) {
      log::warn("dispatcher", "update lease extension failed", {{"error", e.what()}});
    }
    if (stopping_) break;
  }
  heartbeat_done_ = true;
}

}  // namespace vpnbot::telegram
