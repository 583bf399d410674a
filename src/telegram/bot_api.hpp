#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/asio.hpp"
#include "http/client.hpp"

namespace vpnbot::telegram {

using json = nlohmann::json;

// An answer of the Bot API with ok=false: error_code, description and parameters as Telegram sent them.
class ApiError : public std::runtime_error {
 public:
  ApiError(int code, std::string description, std::optional<int> retry_after = std::nullopt)
      : std::runtime_error("telegram " + std::to_string(code) + ": " + description),
        code_(code),
        description_(std::move(description)),
        retry_after_(retry_after) {}
  int code() const { return code_; }
  const std::string& description() const { return description_; }
  std::optional<int> retry_after() const { return retry_after_; }
  bool too_many_requests() const { return code_ == 429; }
  // 403: blocked by the user, user deactivated, kicked from the group: never retry.
  bool forbidden() const { return code_ == 403; }

 private:
  int code_;
  std::string description_;
  std::optional<int> retry_after_;
};

struct InputFile {
  std::string field;  // "document" or "photo"
  std::string filename;
  std::string content_type;
  std::string data;
};

struct WebhookSettings {
  std::string url;
  std::string secret_token;
  int max_connections = 40;
  std::vector<std::string> allowed_updates;
  bool drop_pending_updates = false;
};

// The Telegram Bot API at a configurable base URL (api.telegram.org, a local Bot API server, or the emulator).
// Every call goes through the non-blocking HTTP client; failures surface as ApiError or http::TransportError.
class BotApi {
 public:
  BotApi(http::Client& client, std::string base_url, std::string token);

  // Generic call with JSON parameters; returns `result`.
  awaitable<json> call(std::string method, json params = json::object(), Millis timeout = Millis(0),
                       Cancellation* cancel = nullptr);
  // multipart/form-data call (uploads); non-string params are sent as their JSON text, as the API expects.
  awaitable<json> call_multipart(std::string method, json params, std::vector<InputFile> files,
                                 Millis timeout = Millis(0));

  awaitable<json> get_me() { return call("getMe"); }
  awaitable<json> set_webhook(const WebhookSettings& settings);
  awaitable<json> delete_webhook(bool drop_pending_updates = false) {
    return call("deleteWebhook", {{"drop_pending_updates", drop_pending_updates}});
  }
  // Long poll: the HTTP deadline is the poll timeout plus a margin; `cancel` ends it early (shutdown).
  awaitable<json> get_updates(int64_t offset, int timeout_seconds, int limit = 100,
                              const std::vector<std::string>& allowed_updates = {}, Cancellation* cancel = nullptr);
  awaitable<json> send_message(int64_t chat_id, std::string text, json reply_markup = nullptr);
  awaitable<json> edit_message_text(int64_t chat_id, int64_t message_id, std::string text, json reply_markup = nullptr);
  awaitable<json> edit_message_reply_markup(int64_t chat_id, int64_t message_id, json reply_markup);
  awaitable<json> answer_callback_query(std::string callback_query_id, std::string text = "", bool alert = false);
  awaitable<json> send_document(int64_t chat_id, InputFile file, std::string caption = "");
  awaitable<json> send_photo(int64_t chat_id, InputFile file, std::string caption = "");
  awaitable<json> send_invoice(int64_t chat_id, json invoice);
  awaitable<json> answer_pre_checkout_query(std::string id, bool ok, std::string error_message = "");
  awaitable<json> refund_star_payment(int64_t user_id, std::string telegram_payment_charge_id);
  awaitable<json> delete_message(int64_t chat_id, int64_t message_id) {
    return call("deleteMessage", {{"chat_id", chat_id}, {"message_id", message_id}});
  }

  // Parses a Bot API response body: returns `result` or throws ApiError (also for non-JSON bodies).
  static json parse_response(long http_status, const std::string& body);

 private:
  std::string url_for(const std::string& method) const;
  http::Client& client_;
  std::string base_url_;
  std::string token_;
};

}  // namespace vpnbot::telegram
