#pragma once
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "emulator/http_emulator.hpp"
#include "http/client.hpp"
#include "http/server.hpp"

namespace vpnbot::emulator {

using json = nlohmann::json;

struct TelegramEmulatorOptions {
  HostPort listen{"127.0.0.1", 0};
  std::string token = "123456:TEST-TOKEN";
  std::string bot_username = "vpnbot_sandbox_bot";
  // Token buckets, as Telegram applies them to each call when it arrives.
  int global_per_second = 30;
  int global_burst = 0;  // 0: as many as the rate
  Millis private_chat_interval{1000};
  int private_chat_burst = 3;
  int group_per_minute = 20;
};

// A token bucket: `burst` tokens, refilled at `rate` per second; a call takes one or is refused.
class TokenBucket {
 public:
  bool take(double rate, double burst, Clock::time_point now);

 private:
  double tokens_ = -1;  // full on first use
  Clock::time_point at_{};
};

// An emulator of the Telegram Bot API with the semantics the bot depends on: update_id sequence, getUpdates
// with offset and long-poll timeout, webhook delivery with the secret header and retries, 429 with retry_after
// from token buckets applied when a call arrives (global, per private chat, per group; refusals are counted),
// 403 for users who blocked the bot, stored messages, edits, files and invoices per chat, injectable failures and
// latency (fixed plus random jitter, applied after the call was counted, as a slow server would). A small client API
// under /client/ lets tests and the sandbox's web chat act as users. Single-threaded: run it on its own io_context.
class TelegramEmulator : public HttpEmulator {
 public:
  TelegramEmulator(asio::any_io_executor ex, TelegramEmulatorOptions options);
  ~TelegramEmulator();
  void start();
  awaitable<void> shutdown();
  // A forum supergroup the bot administers (as /client/forum does), e.g. the sandbox's support group.
  void add_forum(int64_t chat_id, std::string title);
  // A channel the bot administers (as /client/channel does), e.g. the sandbox's required channel.
  void add_channel(const std::string& name);

 private:
  struct Message {
    int64_t message_id = 0;
    bool from_bot = true;
    std::string kind = "text";  // text, document, photo, invoice
    std::string text;
    json reply_markup;
    bool edited = false;
    bool deleted = false;
    std::string filename;
    std::string file_data;
    json invoice;
    int64_t date = 0;
  };
  struct User {
    int64_t id = 0;
    std::string first_name;
    std::string username;
    std::string language_code;
    bool blocked = false;
    std::vector<Message> messages;
  };
  struct Injected {
    int error_code = 500;
    std::string description;
    std::optional<int> retry_after;
    int remaining = 1;
  };

  void register_routes();
  awaitable<http::Response> bot_api(http::Request& request);
  json call_method(const std::string& method, const json& params, const std::map<std::string, std::string>& files);
  json get_updates_now(int64_t offset, int limit);
  int64_t push_update(json update);
  json user_json(const User& u) const;
  json message_json(const User& u, const Message& m) const;
  User& user(int64_t id, const json& profile = json::object());
  // Counts a call against the buckets at its arrival; the refusal to answer when over a limit.
  std::optional<http::Response> admit(const std::string& method, const json& params, Clock::time_point arrived);
  awaitable<void> deliver_webhooks();
  awaitable<http::Response> client_api(http::Request& request);

  TelegramEmulatorOptions options_;
  std::unique_ptr<http::Client> client_;
  std::map<int64_t, User> users_;
  std::deque<json> updates_;  // not yet confirmed (getUpdates) or delivered (webhook)
  int64_t next_update_id_ = 1000;
  int64_t next_message_id_ = 1;
  TokenBucket global_bucket_;
  std::map<int64_t, TokenBucket> chat_buckets_;
  Event updates_arrived_;
  std::string webhook_url_, webhook_secret_;
  int webhook_max_connections_ = 40;
  bool stopping_ = false;
  int deliverers_ = 0;
  Millis latency_{0};
  Millis latency_jitter_{0};
  std::map<std::string, Injected> failures_;
  std::map<std::string, int64_t> callback_query_user_;     // unanswered callback query id -> the user who pressed
  std::map<int64_t, std::vector<json>> callback_answers_;  // user -> answerCallbackQuery calls for their presses
  // Public channels by @username: their members, and whether the bot is an administrator (getChatMember on a
  // channel answers only then).
  struct Channel {
    std::set<int64_t> members;
    bool bot_is_admin = true;
  };
  std::map<std::string, Channel> channels_;
  // Forum supergroups (a support team's): topics the bot creates, closes and reopens (with can_manage_topics),
  // and every message in them, the bot's and the members'.
  struct Topic {
    std::string name;
    bool closed = false;
  };
  struct ForumMessage {
    Message message;
    int64_t thread_id = 0;  // 0: the General topic
    int64_t from_user = 0;  // a member; 0: the bot
    std::string from_name;
  };
  struct Forum {
    std::string title;
    bool bot_can_manage_topics = true;
    std::map<int64_t, Topic> topics;
    std::vector<ForumMessage> messages;
  };
  std::map<int64_t, Forum> forums_;
  json forum_method(const std::string& method, const json& params, const std::map<std::string, std::string>& files);
  json forum_message_json(int64_t chat_id, const Forum& forum, const ForumMessage& m) const;
  // The message a copyMessage names, from a private chat or a forum (400 when there is none).
  Message source_message(int64_t from_chat_id, int64_t message_id) const;
  std::map<int64_t, json> pre_checkouts_;  // pending pre_checkout_query id -> invoice
  std::map<int64_t, Clock::time_point> pre_checkout_at_;
  std::map<std::string, int64_t> star_charges_;  // telegram_payment_charge_id -> user
  std::set<std::string> refunded_charges_;
  json stats_ = {{"calls", json::object()}, {"per_chat_violations", 0},
                 {"global_violations", 0},  {"forbidden", 0},
                 {"rate_limited", 0},       {"callback_answers", 0},
                 {"webhook_delivered", 0},  {"webhook_failed_attempts", 0},
                 {"bad_requests", 0},       {"last_bad_requests", json::array()}};
};

}  // namespace vpnbot::emulator
