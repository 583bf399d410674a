#pragma once
#include <deque>
#include <memory>

#include "core/component.hpp"
#include "core/event.hpp"
#include "core/task_group.hpp"
#include "db/pool.hpp"
#include "telegram/inbox.hpp"

namespace vpnbot::telegram {

// Group commit for the webhook: updates arriving while a batch is being written wait for the next batch, and
// each batch is one INSERT and one commit. Every caller is answered only after its update is durable, so a
// busy gateway does one fsync per batch instead of one per update (nothing is acknowledged before commit).
class InboxWriter : public Component {
 public:
  InboxWriter(asio::any_io_executor ex, db::Pool& pool, size_t max_batch = 512, int max_parallel_batches = 2);
  // True when the update is new, false for a redelivery. Throws on database failure (the caller answers 5xx
  // and Telegram redelivers).
  // `raw_json` is the update exactly as received (already validated): stored without re-serialising.
  awaitable<bool> store(UpdateKey key, std::string raw_json);
  std::string name() const override { return "inbox-writer"; }
  // Waits for the batches still being written (started by requests the stopped server already answered).
  awaitable<void> stop(Clock::time_point deadline) override;

 private:
  struct Item {
    UpdateKey key;
    std::string payload;
    bool fresh = false;
    std::exception_ptr error;
    bool done = false;
    std::unique_ptr<Event> ready;
  };
  awaitable<void> flush();
  awaitable<db::Result> insert(const std::vector<std::shared_ptr<Item>>& items);
  awaitable<void> keep_refused(const Item& item, std::string reason);

  asio::any_io_executor ex_;
  db::Pool& pool_;
  size_t max_batch_;
  int max_parallel_;
  int flushing_ = 0;
  std::deque<std::shared_ptr<Item>> pending_;
  TaskGroup flushes_;
};

}  // namespace vpnbot::telegram
