#include "telegram/dispatcher.hpp"

#include "core/log.hpp"

namespace vpnbot::telegram {

Dispatcher::Dispatcher(asio::any_io_executor ex, db::Pool& pool, UpdateHandler handler, FailureHandler on_failure,
                       DispatcherOptions options)
    : LeasedQueueComponent(ex, {"dispatcher", options.concurrency, options.poll_interval, options.lease / 3}),
      pool_(pool),
      inbox_(pool),
      handler_(std::move(handler)),
      on_failure_(std::move(on_failure)),
      options_(std::move(options)) {}

awaitable<std::vector<InboxUpdate>> Dispatcher::claim(int capacity) {
  co_return co_await inbox_.claim(capacity, options_.owner, options_.lease);
}

awaitable<void> Dispatcher::extend(const std::vector<int64_t>& update_ids) {
  co_await inbox_.extend_leases(update_ids, options_.owner, options_.lease);
}

awaitable<void> Dispatcher::process(InboxUpdate update) {
  std::string error;
  bool skip = false;
  try {
    if (options_.before_transaction) co_await options_.before_transaction(update);
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
  // When recording the outcome fails, the lease expires and the update is claimed again: nothing is lost.
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
}

}  // namespace vpnbot::telegram
