#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "core/leased_consumer.hpp"
#include "db/pool.hpp"
#include "telegram/bot_api.hpp"
#include "telegram/rate_limiter.hpp"

namespace vpnbot::telegram {

inline constexpr int kPriorityReply = 10;  // answers to the user's own action
inline constexpr int kPriorityNotice = 5;  // payment confirmations, reminders
inline constexpr int kPriorityBulk = 0;    // broadcasts

// What happens to a message whose outcome is unknown (the sender died or the call timed out after the request
// left): interactive answers and purchase deliverables (replies, receipts, the config file and QR) are sent again,
// since a missing menu or config is worse than a rare duplicate; bulk messages (broadcasts, reminders, notices
// nobody asked for) are never sent twice.
enum class Delivery { at_least_once, at_most_once };

struct OutMessage {
  int64_t chat_id = 0;
  std::string method = "sendMessage";
  json payload = json::object();  // Bot API parameters except the uploaded files (chat_id is added)
  std::vector<InputFile> files;
  int priority = kPriorityReply;
  std::optional<std::string> unique_key;  // an existing key makes the enqueue a no-op
  Delivery delivery = Delivery::at_least_once;
  // For an edit: the call made instead when Telegram refuses it (e.g. the message was deleted), {method, payload}.
  json fallback;
};

// The outbox table: every outbound Bot API call of the bot, sent later by the one Sender.
class Outbox {
 public:
  explicit Outbox(db::Pool& pool) : pool_(pool) {}
  // Returns the row id, or nullopt when the unique key already existed.
  awaitable<std::optional<int64_t>> enqueue(const OutMessage& message);
  // The same inside a handler's transaction: the message exists only if the handler's effects commit.
  static awaitable<std::optional<int64_t>> enqueue(db::Transaction& tx, const OutMessage& message);
  // Wakes the sender (NOTIFY; harmless when nobody listens).
  static constexpr const char* kNotifyChannel = "vpnbot_outbox";

 private:
  db::Pool& pool_;
};

struct SenderOptions {
  std::string owner;
  RateLimits limits;
  int max_in_flight = 32;
  int max_attempts = 8;       // for transport errors and 5xx
  Millis poll_interval{500};  // NOTIFY wakes it sooner
  Millis send_timeout{20000};
  bool allow_paid_broadcast = false;  // bulk messages carry allow_paid_broadcast (with a global rate up to 1000/s)
  // Sends only while this returns true (e.g. while holding the sender lease: the limits are per bot).
  std::function<bool()> may_send;
};

struct SenderStats {
  uint64_t sent = 0;
  uint64_t rate_limited = 0;  // 429 answers
  uint64_t blocked = 0;       // 403 answers
  uint64_t failed = 0;        // 400 and exhausted retries
  uint64_t retried = 0;
  uint64_t ambiguous = 0;
  uint64_t recovered = 0;  // at-least-once rows a stopped sender left in flight, sent again
};

// One outbox row claimed for sending.
struct OutboxRow {
  int64_t id;
  int64_t chat_id;
  std::string method;
  json payload;
  json files;
  int attempts;
  int priority;
  bool at_least_once;
  bool has_fallback;
  RateLimiter::Slot slot;  // taken right before the call, completed when it returned
};

// Sends outbox rows through the Bot API within the rate limits. Run one per bot (under a lease: the limits
// are global to the bot token). Each row is marked 'sending' before its HTTP call and 'sent' after. Rows a
// stopped sender left in 'sending' are sent again when at-least-once (as soon as another sender holds the lease)
// and become 'ambiguous' when at-most-once (once their lease passes).
class Sender : public LeasedQueueComponent<OutboxRow> {
 public:
  Sender(asio::any_io_executor ex, db::Pool& pool, BotApi& api, SenderOptions options);
  std::string name() const override { return "sender"; }
  // stop() waits for the calls in flight (each bounded by send_timeout).
  // This process just became the bot's sender: rows a previous sender left in flight are recovered at once.
  void lease_acquired();
  const SenderStats& stats() const { return stats_; }

 private:
  using Row = OutboxRow;
  awaitable<std::vector<Row>> claim(int capacity) override;
  awaitable<void> process(Row row) override;
  int64_t key(const Row& row) const override { return row.id; }
  Clock::time_point next_claim(Clock::time_point fallback) override;

  awaitable<std::vector<Row>> claim_ready_rows(int capacity);
  awaitable<json> call_api(const Row& row);
  awaitable<void> finish(const Row& row, std::string state, std::optional<json> result, std::string error);
  awaitable<void> retry_later(const Row& row, Millis delay, std::string error);
  awaitable<void> send_fallback_instead(const Row& row, std::string error);
  awaitable<void> recover_abandoned_rows();

  db::Pool& pool_;
  BotApi& api_;
  SenderOptions options_;
  RateLimiter limiter_;
  std::set<int64_t> busy_chats_;    // one message per chat in flight keeps the chat's order
  Clock::time_point next_ready_{};  // when the global rate frees room for rows it held back
  Clock::time_point next_recovery_{};
  bool recover_now_ = true;
  SenderStats stats_;
};

}  // namespace vpnbot::telegram
