#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"
#include "telegram/update_key.hpp"

namespace vpnbot::telegram {

using json = nlohmann::json;

struct InboxUpdate {
  int64_t update_id = 0;
  std::optional<int64_t> chat_id;
  std::string kind;
  json payload;
  int attempt = 0;  // 1 on the first run; fences completion like a job's attempt
};

// tg_inbox: every update stored once by update_id, then handled chat by chat in update_id order.
class Inbox {
 public:
  explicit Inbox(db::Pool& pool) : pool_(pool) {}

  // True when the update is new; false for a redelivery (no-op).
  awaitable<bool> store(const json& update);
  static awaitable<bool> store(db::Transaction& tx, const UpdateKey& key, const json& update);
  awaitable<void> store_malformed(std::string source, std::string reason, std::string body);

  // Claims up to `limit` updates, at most one per chat: the oldest open update of a chat, and only while no
  // other update of that chat is running. So a chat is handled in order and never concurrently, by any number
  // of worker processes; an expired lease (killed worker) makes the update claimable again.
  awaitable<std::vector<InboxUpdate>> claim(int limit, std::string owner, Millis lease);
  static awaitable<void> complete(db::Transaction& tx, const InboxUpdate& update, const std::string& owner);
  awaitable<void> complete(const InboxUpdate& update, const std::string& owner);
  // Retries after a short backoff, or marks the update failed after max_attempts. Returns true if final.
  awaitable<bool> fail(const InboxUpdate& update, const std::string& owner, const std::string& error, int max_attempts);
  awaitable<void> skip(const InboxUpdate& update, const std::string& owner, const std::string& reason);
  awaitable<int64_t> extend_leases(const std::vector<int64_t>& update_ids, const std::string& owner, Millis lease);

 private:
  db::Pool& pool_;
};

}  // namespace vpnbot::telegram
