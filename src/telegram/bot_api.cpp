#include "telegram/bot_api.hpp"

#include "core/json.hpp"

namespace vpnbot::telegram {

BotApi::BotApi(http::Client& client, std::string base_url, std::string token)
    : client_(client), base_url_(std::move(base_url)), token_(std::move(token)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

std::string BotApi::url_for(const std::string& method) const {
  return base_url_ + "/bot" + token_ + "/" + method;
}

json BotApi::parse_response(long http_status, const std::string& body) {
  json parsed = parse_json_or_discarded(body);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("ok"))
    throw ApiError(static_cast<int>(http_status ? http_status : 502),
                   "unreadable Bot API response (HTTP " + std::to_string(http_status) + ")");
  if (parsed.value("ok", false)) return parsed.contains("result") ? parsed["result"] : json(true);
  std::optional<int> retry_after;
  if (auto p = parsed.find("parameters");
      p != parsed.end() && p->is_object() && p->contains("retry_after") && (*p)["retry_after"].is_number_integer())
    retry_after = (*p)["retry_after"].get<int>();
  int code = parsed.value("error_code", static_cast<int>(http_status));
  std::string description = parsed.contains("description") && parsed["description"].is_string()
                                ? parsed["description"].get<std::string>()
                                : std::string("no description");
  throw ApiError(code, std::move(description), retry_after);
}

awaitable<json> BotApi::call(std::string method, json params, Millis timeout, Cancellation* cancel) {
  http::ClientRequest request;
  request.method = "POST";
  request.url = url_for(method);
  request.headers.push_back({"Content-Type", "application/json"});
  request.body = params.dump();
  request.timeout = timeout;
  request.cancel = cancel;
  auto response = co_await client_.send(std::move(request));
  co_return parse_response(response.status, response.body);
}

awaitable<json> BotApi::call_multipart(std::string method, json params, std::vector<InputFile> files, Millis timeout) {
  http::ClientRequest request;
  request.method = "POST";
  request.url = url_for(method);
  for (auto& [key, value] : params.items())
    request.multipart.push_back({key, value.is_string() ? value.get<std::string>() : value.dump(), "", ""});
  for (auto& f : files) request.multipart.push_back({f.field, std::move(f.data), f.filename, f.content_type});
  request.timeout = timeout;
  auto response = co_await client_.send(std::move(request));
  co_return parse_response(response.status, response.body);
}

awaitable<json> BotApi::set_webhook(const WebhookSettings& s) {
  json params{{"url", s.url}, {"max_connections", s.max_connections}, {"drop_pending_updates", s.drop_pending_updates}};
  if (!s.secret_token.empty()) params["secret_token"] = s.secret_token;
  if (!s.allowed_updates.empty()) params["allowed_updates"] = s.allowed_updates;
  return call("setWebhook", std::move(params));
}

awaitable<json> BotApi::get_updates(int64_t offset, int timeout_seconds, int limit,
                                    const std::vector<std::string>& allowed_updates, Cancellation* cancel) {
  json params{{"offset", offset}, {"timeout", timeout_seconds}, {"limit", limit}};
  if (!allowed_updates.empty()) params["allowed_updates"] = allowed_updates;
  return call("getUpdates", std::move(params), Millis((timeout_seconds + 10) * 1000), cancel);
}

awaitable<json> BotApi::send_message(int64_t chat_id, std::string text, json reply_markup) {
  json params{{"chat_id", chat_id}, {"text", std::move(text)}, {"parse_mode", "HTML"}};
  if (!reply_markup.is_null()) params["reply_markup"] = std::move(reply_markup);
  return call("sendMessage", std::move(params));
}

awaitable<json> BotApi::edit_message_text(int64_t chat_id, int64_t message_id, std::string text, json reply_markup) {
  json params{{"chat_id", chat_id}, {"message_id", message_id}, {"text", std::move(text)}, {"parse_mode", "HTML"}};
  if (!reply_markup.is_null()) params["reply_markup"] = std::move(reply_markup);
  return call("editMessageText", std::move(params));
}

awaitable<json> BotApi::edit_message_reply_markup(int64_t chat_id, int64_t message_id, json reply_markup) {
  return call("editMessageReplyMarkup",
              {{"chat_id", chat_id}, {"message_id", message_id}, {"reply_markup", std::move(reply_markup)}});
}

awaitable<json> BotApi::answer_callback_query(std::string callback_query_id, std::string text, bool alert) {
  json params{{"callback_query_id", std::move(callback_query_id)}, {"show_alert", alert}};
  if (!text.empty()) params["text"] = std::move(text);
  return call("answerCallbackQuery", std::move(params));
}

awaitable<json> BotApi::send_document(int64_t chat_id, InputFile file, std::string caption) {
  file.field = "document";
  json params{{"chat_id", chat_id}};
  if (!caption.empty()) params["caption"] = std::move(caption);
  return call_multipart("sendDocument", std::move(params), {std::move(file)});
}

awaitable<json> BotApi::send_photo(int64_t chat_id, InputFile file, std::string caption) {
  file.field = "photo";
  json params{{"chat_id", chat_id}};
  if (!caption.empty()) params["caption"] = std::move(caption);
  return call_multipart("sendPhoto", std::move(params), {std::move(file)});
}

awaitable<json> BotApi::send_invoice(int64_t chat_id, json invoice) {
  invoice["chat_id"] = chat_id;
  return call("sendInvoice", std::move(invoice));
}

awaitable<json> BotApi::answer_pre_checkout_query(std::string id, bool ok, std::string error_message) {
  json params{{"pre_checkout_query_id", std::move(id)}, {"ok", ok}};
  if (!ok) params["error_message"] = std::move(error_message);
  return call("answerPreCheckoutQuery", std::move(params));
}

awaitable<json> BotApi::refund_star_payment(int64_t user_id, std::string telegram_payment_charge_id) {
  return call("refundStarPayment",
              {{"user_id", user_id}, {"telegram_payment_charge_id", std::move(telegram_payment_charge_id)}});
}

}  // namespace vpnbot::telegram
