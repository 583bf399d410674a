#pragma once
#include "core/asio.hpp"

namespace vpnbot {

// A one-shot-or-reusable wake-up for coroutines on a single-threaded io_context.
// wait_until() returns true when notified, false on deadline. Built on a timer so
// every wait has a deadline by construction.
class Event {
 public:
  explicit Event(asio::any_io_executor ex) : timer_(ex) {}

  void notify() {
    notified_ = true;
    timer_.cancel();
  }
  void reset() { notified_ = false; }
  bool is_set() const { return notified_; }

  awaitable<bool> wait_until(Clock::time_point deadline) {
    while (!notified_ && Clock::now() < deadline) {
      timer_.expires_at(deadline);
      boost::system::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    co_return notified_;
  }
  awaitable<bool> wait_for(Clock::duration d) { return wait_until(Clock::now() + d); }

 private:
  asio::steady_timer timer_;
  bool notified_ = false;
};

// Sleep on the current executor.
inline awaitable<void> sleep_for(Clock::duration d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
}

}  // namespace vpnbot
