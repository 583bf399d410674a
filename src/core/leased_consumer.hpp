#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "core/component.hpp"
#include "core/event.hpp"
#include "core/log.hpp"
#include "core/task_group.hpp"

namespace vpnbot {

// What a leased queue (the jobs table, the inbox, the outbox) supplies to the one consumer loop: the SQL behind
// claiming and lease extension, and the handler of one item.
template <typename Item>
class LeasedSource {
 public:
  virtual ~LeasedSource() = default;
  // Claims up to `capacity` items leased to this process (fewer when, e.g., a rate limit holds some back).
  virtual awaitable<std::vector<Item>> claim(int capacity) = 0;
  // Handles one claimed item and records its outcome, fenced by the lease's owner. An exception escaping it is
  // logged; the item's lease then expires and a consumer claims it again, so nothing is lost.
  virtual awaitable<void> process(Item item) = 0;
  virtual int64_t key(const Item& item) const = 0;
  // Extends the leases of the items still running (every `heartbeat`).
  virtual awaitable<void> extend(const std::vector<int64_t>& /*keys*/) { co_return; }
  // When to claim again without a wake-up: `fallback` unless the source knows better (a rate limit freeing up).
  virtual Clock::time_point next_claim(Clock::time_point fallback) { return fallback; }
};

struct LeasedConsumerOptions {
  std::string name;  // the log component
  int concurrency = 16;
  Millis poll_interval{1000};
  Millis heartbeat{0};  // zero: no extension (each item's lease outlasts its own deadline)
};

// Claims items with a lease, runs up to `concurrency` of them at once, keeps their leases alive, and on stop
// drains them under a deadline. Every coroutine it starts lives in a group it joins in stop(), so none outlives
// the consumer or its source.
template <typename Item>
class LeasedConsumer {
 public:
  LeasedConsumer(asio::any_io_executor ex, LeasedSource<Item>& source, LeasedConsumerOptions options)
      : source_(source),
        options_(std::move(options)),
        wakeup_(ex),
        heartbeat_wake_(ex),
        claimer_(ex, crash_logger()),
        items_(ex, crash_logger()),
        heartbeat_(ex, crash_logger()) {}

  void start() {
    claimer_.spawn(options_.name + "-claim", claim_loop());
    if (options_.heartbeat.count() > 0) heartbeat_.spawn(options_.name + "-heartbeat", heartbeat_loop());
  }
  void wake() { wakeup_.notify(); }
  int running() const { return items_.running(); }
  // True once stop() began: long items (a backup) check it to end early rather than hold the stop up.
  bool stopping() const { return stopping_; }

  // Stops claiming and waits for the running items until `deadline`. Items still running then are awaited
  // further, with their leases kept alive: each is bounded by its own deadlines (query, transaction and HTTP
  // timeouts), and nothing that references the source may outlive this call. False when the deadline was missed.
  awaitable<bool> stop(Clock::time_point deadline) {
    stopping_ = true;
    wakeup_.notify();
    co_await claimer_.join(Clock::time_point::max());  // its claim query has its own timeout
    bool in_time = co_await items_.join(deadline);
    if (!in_time) {
      log::warn(options_.name, "items still running at the stop deadline; awaiting their own deadlines",
                {{"running", items_.running()}});
      co_await items_.join(Clock::time_point::max());
    }
    heartbeat_stopping_ = true;
    heartbeat_wake_.notify();
    co_await heartbeat_.join(Clock::time_point::max());
    co_return in_time;
  }

 private:
  TaskGroup::ErrorHandler crash_logger() {
    return [this](const std::string& task, const std::string& error) {
      log::error(options_.name, "task failed", {{"task", task}, {"error", error}});
    };
  }

  awaitable<void> claim_loop() {
    bool failing = false;
    while (!stopping_) {
      wakeup_.reset();
      int free = options_.concurrency - items_.running();
      int claimed = 0;
      if (free > 0) {
        std::string error;
        try {
          auto items = co_await source_.claim(free);
          claimed = static_cast<int>(items.size());
          for (auto& item : items) {
            auto key = source_.key(item);
            running_keys_.insert(key);
            items_.spawn(options_.name, run_item(std::move(item), key));
          }
          if (failing) log::info(options_.name, "claiming recovered");
          failing = false;
        } catch (const std::exception& e) {
          error = e.what();
        }
        if (!error.empty() && !failing) {  // the start of an outage once, not every poll
          log::warn(options_.name, "claiming failed, will retry", {{"error", error}});
          failing = true;
        }
      }
      if (claimed > 0 && claimed == free) continue;  // there may be more: go again at once
      co_await wakeup_.wait_until(source_.next_claim(Clock::now() + options_.poll_interval));
    }
  }

  awaitable<void> run_item(Item item, int64_t key) {
    std::string error;
    try {
      co_await source_.process(std::move(item));
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty())
      log::error(options_.name, "could not record an outcome; the lease will expire and the item run again",
                 {{"key", key}, {"error", error}});
    running_keys_.erase(key);
    wakeup_.notify();
  }

  awaitable<void> heartbeat_loop() {
    while (!heartbeat_stopping_) {
      heartbeat_wake_.reset();
      co_await heartbeat_wake_.wait_for(options_.heartbeat);
      if (heartbeat_stopping_ || running_keys_.empty()) continue;
      std::string error;
      try {
        std::vector<int64_t> keys(running_keys_.begin(), running_keys_.end());  // named: see core/asio.hpp
        co_await source_.extend(keys);
      } catch (const std::exception& e) {
        error = e.what();
      }
      if (!error.empty()) log::warn(options_.name, "lease extension failed", {{"error", error}});
    }
  }

  LeasedSource<Item>& source_;
  LeasedConsumerOptions options_;
  std::set<int64_t> running_keys_;
  Event wakeup_;
  Event heartbeat_wake_;
  bool stopping_ = false;
  bool heartbeat_stopping_ = false;
  // Declared last: destroyed first, after stop() joined them.
  TaskGroup claimer_;
  TaskGroup items_;
  TaskGroup heartbeat_;
};

// A component whose work is a leased queue: the one consumer loop over the source the derived class implements,
// started and stopped with the component.
template <typename Item>
class LeasedQueueComponent : public Component, protected LeasedSource<Item> {
 public:
  void start() override { consumer_.start(); }
  // Stops claiming and drains the running items (see LeasedConsumer::stop).
  awaitable<void> stop(Clock::time_point deadline) override { co_await consumer_.stop(deadline); }
  void wake() { consumer_.wake(); }

 protected:
  LeasedQueueComponent(asio::any_io_executor ex, LeasedConsumerOptions options)
      : consumer_(std::move(ex), *this, std::move(options)) {}

  LeasedConsumer<Item> consumer_;
};

}  // namespace vpnbot
