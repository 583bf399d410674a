#pragma once
#include <functional>

#include "core/leased_consumer.hpp"
#include "telegram/inbox.hpp"

namespace vpnbot::telegram {

// Thrown by a handler for an update it can never handle (unknown kind, no sender): kept, logged, skipped.
class SkipUpdate : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs inside the transaction that also marks the update done: effects and completion commit together.
using UpdateHandler = std::function<awaitable<void>(db::Transaction&, const InboxUpdate&)>;
// Called once after an update failed its last attempt (e.g. to apologise to the user).
using FailureHandler = std::function<awaitable<void>(const InboxUpdate&)>;

struct DispatcherOptions {
  std::string owner;
  int concurrency = 16;  // chats handled at once by this process
  Millis lease{30000};
  Millis poll_interval{1000};
  int max_attempts = 3;
  // Slow outside calls an update needs (getChatMember takes up to seconds), made before its transaction so no
  // connection or row lock waits on them; what they learn is stored for the handler to read.
  std::function<awaitable<void>(const InboxUpdate&)> before_transaction;
};

struct DispatcherStats {
  uint64_t handled = 0;
  uint64_t failed = 0;   // attempts that threw
  uint64_t dead = 0;     // updates that failed every attempt
  uint64_t skipped = 0;  // malformed or unhandled
};

// Claims updates from the inbox (one per chat at a time, in order, across all processes) and runs the handler.
class Dispatcher : public LeasedQueueComponent<InboxUpdate> {
 public:
  Dispatcher(asio::any_io_executor ex, db::Pool& pool, UpdateHandler handler, FailureHandler on_failure,
             DispatcherOptions options);
  std::string name() const override { return "dispatcher"; }
  const DispatcherStats& stats() const { return stats_; }
  static constexpr const char* kNotifyChannel = "vpnbot_inbox";

 private:
  awaitable<std::vector<InboxUpdate>> claim(int capacity) override;
  awaitable<void> process(InboxUpdate update) override;
  int64_t key(const InboxUpdate& update) const override { return update.update_id; }
  awaitable<void> extend(const std::vector<int64_t>& update_ids) override;

  db::Pool& pool_;
  Inbox inbox_;
  UpdateHandler handler_;
  FailureHandler on_failure_;
  DispatcherOptions options_;
  DispatcherStats stats_;
};

}  // namespace vpnbot::telegram
