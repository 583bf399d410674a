#pragma once
#include <exception>
#include <functional>
#include <string>

#include "core/asio.hpp"
#include "core/event.hpp"
#include "core/log.hpp"

namespace vpnbot {

// The coroutines one owner spawned, awaited by that owner before it goes away: a task may reference its owner
// because the owner joins the group on stop (structured lifetime; nothing is detached). Single-threaded, like the
// io_context it runs on.
class TaskGroup {
 public:
  // Called when a task ends with an exception (its name and the error's text).
  using ErrorHandler = std::function<void(const std::string& task, const std::string& error)>;

  explicit TaskGroup(asio::any_io_executor ex, ErrorHandler on_error = {})
      : ex_(std::move(ex)), idle_(ex_), on_error_(std::move(on_error)) {}
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  void spawn(std::string name, awaitable<void> task) {
    ++running_;
    asio::co_spawn(ex_, std::move(task), [this, name = std::move(name)](std::exception_ptr error) {
      if (error) report(name, error);
      if (--running_ == 0) idle_.notify();
    });
  }
  int running() const { return running_; }

  // Waits until every task has returned, or the deadline; true when none is left.
  awaitable<bool> join(Clock::time_point deadline) {
    while (running_ > 0) {
      idle_.reset();
      bool notified = co_await idle_.wait_until(deadline);
      if (!notified && running_ > 0) co_return false;
    }
    co_return true;
  }

 private:
  void report(const std::string& name, std::exception_ptr error) {
    std::string text = log::what(error);
    if (on_error_) on_error_(name, text);
  }

  asio::any_io_executor ex_;
  Event idle_;
  ErrorHandler on_error_;
  int running_ = 0;
};

}  // namespace vpnbot
