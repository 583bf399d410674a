#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"

namespace vpnbot::broadcast {

struct BroadcastSpec {
  std::string text;                                  // HTML
  std::optional<std::string> photo;                  // URL or file_id: sent as a photo with the text as caption
  nlohmann::json buttons = nlohmann::json::array();  // [{"text": .., "url": ..}]
  std::string audience = "all";                      // all, active, expired, never_paid, trial, language, node
  std::optional<std::string> audience_arg;
  std::optional<int64_t> created_by;
};

struct Progress {
  int64_t id = 0;
  std::string state;  // draft, running, paused, cancelled, done (fan-out finished)
  std::string audience;
  int64_t queued = 0;  // recipients put in the outbox so far
  int64_t pending = 0, sending = 0, sent = 0, blocked = 0, failed = 0, held = 0, cancelled = 0;
  nlohmann::json to_json() const;
  std::string summary() const;
};

// Broadcasts: recipients are taken from users in id order (keyset pagination) and queued into the outbox at
// bulk priority with the unique key "broadcast:<id>:<user>" in the same transaction as the cursor moves. A
// crash anywhere resumes from the cursor and nobody is queued twice; the sender sends each row at most once.
class Broadcasts {
 public:
  // Validates the audience and buttons (std::invalid_argument with the reason).
  static awaitable<int64_t> create(db::Transaction& tx, const BroadcastSpec& spec);
  // One copy to `chat_id` (the admin) before starting.
  static awaitable<void> preview(db::Transaction& tx, int64_t id, int64_t chat_id);
  // draft or paused -> running (held messages return to the queue) and the fan-out job is enqueued; the admin's
  // chat, when given, gets a live progress message.
  static awaitable<bool> start(db::Transaction& tx, int64_t id, std::optional<int64_t> status_chat_id);
  static awaitable<bool> pause(db::Transaction& tx, int64_t id);
  static awaitable<bool> cancel(db::Transaction& tx, int64_t id);
  // Queues the next `batch` recipients; returns how many, or -1 when the broadcast is not running.
  static awaitable<int64_t> fan_out_batch(db::Transaction& tx, int64_t id, int batch);
  static awaitable<std::optional<Progress>> progress(db::Transaction& tx, int64_t id);
  static awaitable<std::vector<Progress>> list(db::Transaction& tx, int limit);
};

// broadcast.fanout {broadcast_id}: queues every recipient in batches; broadcast.progress: edits the admins'
// progress messages (periodic).
void register_job_handlers(jobs::Worker& worker);
std::vector<jobs::PeriodicTask> periodic_tasks();

}  // namespace vpnbot::broadcast
