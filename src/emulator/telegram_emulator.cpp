#include "emulator/telegram_emulator.hpp"

#include <cstdlib>

#include "core/encoding.hpp"
#include "core/log.hpp"
#include "emulator/common.hpp"
#include "emulator/multipart.hpp"
#include "emulator/telegram_formatting.hpp"
#include "emulator/webchat.hpp"

namespace vpnbot::emulator {
namespace {

constexpr size_t kMaxTextCharacters = 4096, kMaxCaptionCharacters = 1024;  // after entities parsing

// An ok=false answer of the Bot API.
struct ApiFailure {
  int code;
  std::string description;
  std::optional<int> retry_after;
};

http::Response api_error(const ApiFailure& f) {
  json body{{"ok", false}, {"error_code", f.code}, {"description", f.description}};
  if (f.retry_after) body["parameters"] = {{"retry_after", *f.retry_after}};
  return http::json_response(static_cast<http::bhttp::status>(f.code), body);
}

http::Response api_ok(json result) {
  return http::json_response(http::bhttp::status::ok, {{"ok", true}, {"result", std::move(result)}});
}

int64_t int_param(const json& params, const char* name) {
  auto it = params.find(name);
  if (it == params.end()) throw ApiFailure{400, std::string("Bad Request: parameter ") + name + " is required"};
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      size_t used = 0;
      int64_t v = std::stoll(it->get<std::string>(), &used);
      if (used == it->get<std::string>().size()) return v;
    } catch (const std::exception&) {
    }
  }
  throw ApiFailure{400, std::string("Bad Request: parameter ") + name + " must be an integer"};
}

std::string string_param(const json& params, const char* name, bool required = true) {
  auto it = params.find(name);
  if (it == params.end() || it->is_null()) {
    if (required) throw ApiFailure{400, std::string("Bad Request: parameter ") + name + " is required"};
    return "";
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

void checked_keyboard(const json& markup) {
  try {
    check_inline_keyboard(markup);
  } catch (const FormattingError& e) {
    throw ApiFailure{400, e.what()};
  }
}

json markup_param(const json& params) {
  auto it = params.find("reply_markup");
  if (it == params.end() || it->is_null()) return nullptr;
  if (it->is_string()) {
    auto parsed = json::parse(it->get<std::string>(), nullptr, false);
    if (parsed.is_discarded()) throw ApiFailure{400, "Bad Request: can't parse reply keyboard markup JSON object"};
    checked_keyboard(parsed);
    return parsed;
  }
  checked_keyboard(*it);
  return *it;
}

// A message's text or a caption as the Bot API takes it: parsed per parse_mode, then measured in characters as
// users see them (a limit in bytes would refuse Cyrillic text Telegram accepts). Returns what was sent, as tests
// read it.
std::string checked_text(const json& params, const char* field, bool required, size_t max_characters) {
  std::string text = string_param(params, field, required);
  std::string parse_mode =
      params.contains("parse_mode") && params["parse_mode"].is_string() ? params["parse_mode"].get<std::string>() : "";
  std::string shown;
  try {
    shown = visible_text(text, parse_mode);
  } catch (const FormattingError& e) {
    throw ApiFailure{400, e.what()};
  }
  bool caption = std::string_view(field) == "caption";
  if (required && shown.empty()) throw ApiFailure{400, "Bad Request: message text is empty"};
  if (utf8_length(shown) > max_characters)
    throw ApiFailure{400, caption ? "Bad Request: message caption is too long" : "Bad Request: message is too long"};
  return text;
}

}  // namespace

TelegramEmulator::TelegramEmulator(asio::any_io_executor ex, TelegramEmulatorOptions options)
    : HttpEmulator(ex), options_(std::move(options)), updates_arrived_(ex) {
  client_ = std::make_unique<http::Client>(ex, http::ClientOptions{"", Millis(10000), Millis(3000), 64});
  register_routes();
  server_ = std::make_unique<http::Server>(ex, http::ServerOptions{options_.listen, 64 << 20}, router_);
}

TelegramEmulator::~TelegramEmulator() = default;

void TelegramEmulator::start() {
  server_->start();
}

awaitable<void> TelegramEmulator::shutdown() {
  stopping_ = true;
  webhook_url_.clear();
  updates_arrived_.notify();
  co_await server_->shutdown(Millis(1000));
  while (deliverers_ > 0) co_await sleep_for(Millis(10));
}

void TelegramEmulator::register_routes() {
  auto api = [this](http::Request& r) { return bot_api(r); };
  router_.add_prefix(http::bhttp::verb::post, "/bot", api);
  router_.add_prefix(http::bhttp::verb::get, "/bot", api);
  router_.add(http::bhttp::verb::get, "/", [](http::Request&) -> awaitable<http::Response> {
    co_return http::make_response(http::bhttp::status::ok, std::string(webchat_html()), "text/html; charset=utf-8");
  });
  auto client = [this](http::Request& r) { return client_api(r); };
  router_.add_prefix(http::bhttp::verb::post, "/client/", client);
  router_.add_prefix(http::bhttp::verb::get, "/client/", client);
}

TelegramEmulator::User& TelegramEmulator::user(int64_t id, const json& profile) {
  auto& u = users_[id];
  u.id = id;
  if (profile.contains("first_name")) u.first_name = profile["first_name"].get<std::string>();
  if (u.first_name.empty()) u.first_name = "User" + std::to_string(id);
  if (profile.contains("username")) u.username = profile["username"].get<std::string>();
  if (profile.contains("language_code")) u.language_code = profile["language_code"].get<std::string>();
  return u;
}

json TelegramEmulator::user_json(const User& u) const {
  json j{{"id", u.id}, {"is_bot", false}, {"first_name", u.first_name}};
  if (!u.username.empty()) j["username"] = u.username;
  if (!u.language_code.empty()) j["language_code"] = u.language_code;
  return j;
}

json TelegramEmulator::message_json(const User& u, const Message& m) const {
  json chat{{"id", u.id}, {"type", "private"}, {"first_name", u.first_name}};
  json j{{"message_id", m.message_id}, {"date", m.date}, {"chat", chat}};
  if (m.from_bot)
    j["from"] = {{"id", 123456}, {"is_bot", true}, {"first_name", "VPN"}, {"username", options_.bot_username}};
  else
    j["from"] = user_json(u);
  if (m.kind == "text") j["text"] = m.text;
  if (m.kind == "document") j["document"] = {{"file_name", m.filename}, {"file_size", m.file_data.size()}};
  if (m.kind == "photo") j["photo"] = json::array({{{"file_id", "photo" + std::to_string(m.message_id)}}});
  if (m.kind == "invoice") j["invoice"] = m.invoice;
  if (!m.text.empty() && m.kind != "text") j["caption"] = m.text;
  if (!m.reply_markup.is_null()) j["reply_markup"] = m.reply_markup;
  return j;
}

int64_t TelegramEmulator::push_update(json update) {
  int64_t id = next_update_id_++;
  update["update_id"] = id;
  updates_.push_back(std::move(update));
  updates_arrived_.notify();
  return id;
}

bool TokenBucket::take(double rate, double burst, Clock::time_point now) {
  if (tokens_ < 0) {
    tokens_ = burst;
  } else {
    tokens_ = std::min(burst, tokens_ + rate * std::chrono::duration<double>(now - at_).count());
  }
  at_ = now;
  if (tokens_ < 1.0 - 1e-9) return false;
  tokens_ -= 1.0;
  return true;
}

namespace {
// Calls that put something into a chat count against that chat's limit; answers to queries only globally.
bool counts_in_chat(const std::string& method) {
  return method.rfind("send", 0) == 0 || method.rfind("edit", 0) == 0 || method == "copyMessage" ||
         method == "forwardMessage";
}
bool counts_globally(const std::string& method) {
  return counts_in_chat(method) || method == "answerCallbackQuery" || method == "answerPreCheckoutQuery";
}
}  // namespace

std::optional<http::Response> TelegramEmulator::admit(const std::string& method, const json& params,
                                                      Clock::time_point arrived) {
  if (!counts_globally(method)) return std::nullopt;
  auto refuse = [&](const char* counter) {
    stats_[counter] = stats_[counter].get<int>() + 1;
    stats_["rate_limited"] = stats_["rate_limited"].get<int>() + 1;
    return api_error({429, "Too Many Requests: retry after 1", 1});
  };
  double global_rate = std::max(options_.global_per_second, 1);
  double global_burst = options_.global_burst > 0 ? options_.global_burst : global_rate;
  if (!global_bucket_.take(global_rate, global_burst, arrived)) return refuse("global_violations");
  if (!counts_in_chat(method) || !params.contains("chat_id")) return std::nullopt;
  int64_t chat_id = 0;
  try {
    chat_id = int_param(params, "chat_id");
  } catch (const ApiFailure&) {
    return std::nullopt;  // the method itself answers 400
  }
  double rate = chat_id > 0 ? 1000.0 / std::max<int64_t>(options_.private_chat_interval.count(), 1)
                            : options_.group_per_minute / 60.0;
  double burst = chat_id > 0 ? std::max(options_.private_chat_burst, 1) : std::max(options_.group_per_minute, 1);
  if (!chat_buckets_[chat_id].take(rate, burst, arrived)) return refuse("per_chat_violations");
  return std::nullopt;
}

json TelegramEmulator::call_method(const std::string& method, const json& params,
                                   const std::map<std::string, std::string>& files) {
  if (method == "getMe")
    return {{"id", 123456}, {"is_bot", true}, {"first_name", "VPN"}, {"username", options_.bot_username}};
  if (method == "setWebhook") {
    webhook_url_ = string_param(params, "url");
    webhook_secret_ = string_param(params, "secret_token", false);
    if (params.contains("max_connections"))
      webhook_max_connections_ = static_cast<int>(int_param(params, "max_connections"));
    if (params.value("drop_pending_updates", false)) updates_.clear();
    for (int i = deliverers_; i < std::min(webhook_max_connections_, 4); ++i) {
      ++deliverers_;
      asio::co_spawn(ex_, deliver_webhooks(), asio::detached);
    }
    return true;
  }
  if (method == "deleteWebhook") {
    webhook_url_.clear();
    if (params.value("drop_pending_updates", false)) updates_.clear();
    return true;
  }
  if (method == "getWebhookInfo") return {{"url", webhook_url_}, {"pending_update_count", updates_.size()}};
  if (method == "getChatMember") {
    // A channel by its @username (numeric ids of private chats are not emulated); the bot must administer it.
    auto chat = string_param(params, "chat_id");
    int64_t user_id = int_param(params, "user_id");
    auto channel = channels_.find(chat);
    if (channel == channels_.end()) throw ApiFailure{400, "Bad Request: chat not found"};
    if (!channel->second.bot_is_admin) throw ApiFailure{400, "Bad Request: member list is inaccessible"};
    auto known = users_.find(user_id);
    json member_user = known != users_.end() ? user_json(known->second)
                                             : json{{"id", user_id}, {"is_bot", false}, {"first_name", "User"}};
    return {{"status", channel->second.members.count(user_id) ? "member" : "left"}, {"user", member_user}};
  }
  if (method == "answerCallbackQuery") {
    auto query_id = string_param(params, "callback_query_id");
    auto asker = callback_query_user_.find(query_id);
    if (asker == callback_query_user_.end())
      throw ApiFailure{400, "Bad Request: query is too old and response timeout expired or query ID is invalid"};
    std::string text = params.contains("text") && params["text"].is_string() ? params["text"].get<std::string>() : "";
    if (utf8_length(text) > 200) throw ApiFailure{400, "Bad Request: MESSAGE_TOO_LONG"};
    // Answered once: a second answer to the same query is refused as Telegram does.
    int64_t user_id = asker->second;
    callback_query_user_.erase(asker);
    callback_answers_[user_id].push_back(
        {{"callback_query_id", query_id}, {"text", text}, {"show_alert", params.value("show_alert", false)}});
    stats_["callback_answers"] = stats_["callback_answers"].get<int>() + 1;
    return true;
  }
  if (method == "answerPreCheckoutQuery") {
    auto id = std::stoll(string_param(params, "pre_checkout_query_id"));
    auto it = pre_checkouts_.find(id);
    if (it == pre_checkouts_.end()) throw ApiFailure{400, "Bad Request: QUERY_ID_INVALID"};
    // Telegram gives the bot 10 seconds; a later answer finds the query gone.
    if (Clock::now() - pre_checkout_at_[id] > Millis(10000)) {
      pre_checkouts_.erase(it);
      stats_["pre_checkout_late"] = stats_.value("pre_checkout_late", 0) + 1;
      throw ApiFailure{400, "Bad Request: QUERY_ID_INVALID"};
    }
    json query = it->second;
    pre_checkouts_.erase(it);
    if (params.value("ok", false)) {
      int64_t user_id = query["from"]["id"];
      auto& u = users_.at(user_id);
      Message paid{next_message_id_++, false, "text", ""};
      paid.date = now_unix();
      json message = message_json(u, paid);
      message["successful_payment"] = {{"currency", query["currency"]},
                                       {"total_amount", query["total_amount"]},
                                       {"invoice_payload", query["invoice_payload"]},
                                       {"telegram_payment_charge_id", "stars-" + std::to_string(id)},
                                       {"provider_payment_charge_id", ""}};
      u.messages.push_back(paid);
      star_charges_[message["successful_payment"]["telegram_payment_charge_id"]] = user_id;
      push_update({{"message", message}});
    }
    return true;
  }
  if (method == "refundStarPayment") {
    auto charge = string_param(params, "telegram_payment_charge_id");
    auto it = star_charges_.find(charge);
    if (it == star_charges_.end() || it->second != int_param(params, "user_id"))
      throw ApiFailure{400, "Bad Request: CHARGE_NOT_FOUND"};
    if (!refunded_charges_.insert(charge).second) throw ApiFailure{400, "Bad Request: CHARGE_ALREADY_REFUNDED"};
    return true;
  }
  int64_t chat_id = int_param(params, "chat_id");
  if (forums_.count(chat_id)) return forum_method(method, params, files);
  if (method == "createForumTopic" || method == "closeForumTopic" || method == "reopenForumTopic")
    throw ApiFailure{400,
                     users_.count(chat_id) ? "Bad Request: the chat is not a forum" : "Bad Request: chat not found"};
  auto found = users_.find(chat_id);
  if (found == users_.end()) throw ApiFailure{400, "Bad Request: chat not found"};
  User& u = found->second;
  if (method == "copyMessage") {  // into a private chat: a copy of the source, answered with its MessageId only
    if (u.blocked) {
      stats_["forbidden"] = stats_["forbidden"].get<int>() + 1;
      throw ApiFailure{403, "Forbidden: bot was blocked by the user"};
    }
    Message copy = source_message(int_param(params, "from_chat_id"), int_param(params, "message_id"));
    copy.from_bot = true;
    copy.message_id = next_message_id_++;
    copy.date = now_unix();
    copy.reply_markup = markup_param(params);
    u.messages.push_back(copy);
    return {{"message_id", copy.message_id}};
  }
  if (u.blocked) {
    stats_["forbidden"] = stats_["forbidden"].get<int>() + 1;
    throw ApiFailure{403, "Forbidden: bot was blocked by the user"};
  }
  auto find_message = [&](const char* what) -> Message& {
    int64_t id = int_param(params, "message_id");
    for (auto& m : u.messages)
      if (m.message_id == id && !m.deleted) return m;
    throw ApiFailure{400, std::string("Bad Request: message to ") + what + " not found"};
  };
  if (method == "editMessageText" || method == "editMessageReplyMarkup") {
    Message& m = find_message("edit");
    // A file's or photo's caption is edited with editMessageCaption, never with editMessageText.
    if (method == "editMessageText" && m.kind != "text")
      throw ApiFailure{400, "Bad Request: there is no text in the message to edit"};
    std::string text = method == "editMessageText" ? checked_text(params, "text", true, kMaxTextCharacters) : m.text;
    json markup = markup_param(params);
    if (text == m.text && markup == m.reply_markup)
      throw ApiFailure{400,
                       "Bad Request: message is not modified: specified new message content and reply markup "
                       "are exactly the same as a current content and reply markup of the message"};
    m.text = text;
    m.reply_markup = markup;
    m.edited = true;
    return message_json(u, m);
  }
  if (method == "deleteMessage") {
    find_message("delete").deleted = true;
    return true;
  }
  Message m;
  m.date = now_unix();
  if (method == "sendMessage") {
    m.text = checked_text(params, "text", true, kMaxTextCharacters);
  } else if (method == "sendDocument" || method == "sendPhoto") {
    m.kind = method == "sendDocument" ? "document" : "photo";
    auto file = files.find(m.kind);
    if (file == files.end()) throw ApiFailure{400, "Bad Request: there is no " + m.kind + " in the request"};
    // Bots upload files of up to 50 MB (photos 10 MB); a larger request is refused before it reaches the API.
    if (file->second.size() > (m.kind == "photo" ? 10 : 50) * 1024 * 1024)
      throw ApiFailure{413, "Request Entity Too Large"};
    m.filename = file->first == "document" ? string_param(params, "__filename_document", false) : "photo.png";
    m.file_data = file->second;
    m.text = checked_text(params, "caption", false, kMaxCaptionCharacters);
  } else if (method == "sendInvoice") {
    m.kind = "invoice";
    m.invoice = {{"title", string_param(params, "title")},
                 {"description", string_param(params, "description")},
                 {"currency", string_param(params, "currency")},
                 {"payload", string_param(params, "payload")},
                 {"prices", params.contains("prices") ? params["prices"] : json::array()}};
    if (m.invoice["prices"].is_string()) m.invoice["prices"] = json::parse(m.invoice["prices"].get<std::string>());
    // Stars invoices: an empty provider token and exactly one price item (Bot API, sendInvoice).
    if (m.invoice["currency"] == "XTR") {
      if (!string_param(params, "provider_token", false).empty())
        throw ApiFailure{400, "Bad Request: provider_token must be empty for payments in Telegram Stars"};
      if (!m.invoice["prices"].is_array() || m.invoice["prices"].size() != 1)
        throw ApiFailure{400, "Bad Request: Stars invoices must have exactly one price"};
    }
  } else {
    throw ApiFailure{404, "Not Found: method " + method + " is not emulated"};
  }
  m.reply_markup = markup_param(params);
  m.message_id = next_message_id_++;
  u.messages.push_back(m);
  return message_json(u, u.messages.back());
}

void TelegramEmulator::add_forum(int64_t chat_id, std::string title) {
  forums_[chat_id].title = std::move(title);
}

void TelegramEmulator::add_channel(const std::string& name) {
  channels_[name].bot_is_admin = true;
}

TelegramEmulator::Message TelegramEmulator::source_message(int64_t from_chat_id, int64_t message_id) const {
  if (auto user = users_.find(from_chat_id); user != users_.end()) {
    for (const auto& m : user->second.messages)
      if (m.message_id == message_id && !m.deleted) return m;
  } else if (auto forum = forums_.find(from_chat_id); forum != forums_.end()) {
    for (const auto& m : forum->second.messages)
      if (m.message.message_id == message_id) return m.message;
  }
  throw ApiFailure{400, "Bad Request: message to copy not found"};
}

json TelegramEmulator::forum_message_json(int64_t chat_id, const Forum& forum, const ForumMessage& m) const {
  json j{{"message_id", m.message.message_id},
         {"date", m.message.date},
         {"chat", {{"id", chat_id}, {"type", "supergroup"}, {"title", forum.title}, {"is_forum", true}}}};
  if (m.from_user)
    j["from"] = {{"id", m.from_user}, {"is_bot", false}, {"first_name", m.from_name}};
  else
    j["from"] = {{"id", 123456}, {"is_bot", true}, {"first_name", "VPN"}, {"username", options_.bot_username}};
  if (m.thread_id) {
    j["message_thread_id"] = m.thread_id;
    j["is_topic_message"] = true;
  }
  const Message& msg = m.message;
  if (msg.kind == "text") j["text"] = msg.text;
  if (msg.kind == "document") j["document"] = {{"file_name", msg.filename}, {"file_size", msg.file_data.size()}};
  if (msg.kind == "photo") j["photo"] = json::array({{{"file_id", "photo" + std::to_string(msg.message_id)}}});
  if (!msg.text.empty() && msg.kind != "text") j["caption"] = msg.text;
  return j;
}

json TelegramEmulator::forum_method(const std::string& method, const json& params,
                                    const std::map<std::string, std::string>& files) {
  int64_t chat_id = int_param(params, "chat_id");
  Forum& forum = forums_.at(chat_id);
  if (method == "createForumTopic") {
    if (!forum.bot_can_manage_topics) throw ApiFailure{400, "Bad Request: not enough rights to create a topic"};
    std::string name = string_param(params, "name");
    if (name.empty() || utf8_length(name) > 128) throw ApiFailure{400, "Bad Request: TOPIC_TITLE_INVALID"};
    // The topic is the thread of its creation message: its id is that message's id.
    int64_t thread_id = next_message_id_++;
    forum.topics[thread_id] = Topic{name, false};
    return {{"message_thread_id", thread_id}, {"name", name}, {"icon_color", 7322096}};
  }
  int64_t thread_id = params.contains("message_thread_id") ? int_param(params, "message_thread_id") : 0;
  auto topic = forum.topics.find(thread_id);
  if (thread_id != 0 && topic == forum.topics.end()) throw ApiFailure{400, "Bad Request: message thread not found"};
  if (method == "closeForumTopic" || method == "reopenForumTopic") {
    if (topic == forum.topics.end()) throw ApiFailure{400, "Bad Request: message thread not found"};
    if (!forum.bot_can_manage_topics) throw ApiFailure{400, "Bad Request: not enough rights to manage topics"};
    bool close = method == "closeForumTopic";
    if (topic->second.closed == close) throw ApiFailure{400, "Bad Request: TOPIC_NOT_MODIFIED"};
    topic->second.closed = close;
    return true;
  }
  // Closed topics take messages only from those who may manage topics.
  if (topic != forum.topics.end() && topic->second.closed && !forum.bot_can_manage_topics)
    throw ApiFailure{400, "Bad Request: TOPIC_CLOSED"};
  ForumMessage m;
  m.thread_id = thread_id;
  m.message.date = now_unix();
  if (method == "sendMessage") {
    m.message.text = checked_text(params, "text", true, kMaxTextCharacters);
  } else if (method == "copyMessage") {
    m.message = source_message(int_param(params, "from_chat_id"), int_param(params, "message_id"));
    m.message.date = now_unix();
  } else if (method == "sendDocument" || method == "sendPhoto") {
    m.message.kind = method == "sendDocument" ? "document" : "photo";
    auto file = files.find(m.message.kind);
    if (file == files.end()) throw ApiFailure{400, "Bad Request: there is no " + m.message.kind + " in the request"};
    m.message.file_data = file->second;
    m.message.text = checked_text(params, "caption", false, kMaxCaptionCharacters);
  } else {
    throw ApiFailure{404, "Not Found: method " + method + " is not emulated in groups"};
  }
  m.message.from_bot = true;
  m.message.message_id = next_message_id_++;
  forum.messages.push_back(m);
  if (method == "copyMessage") return {{"message_id", m.message.message_id}};
  return forum_message_json(chat_id, forum, forum.messages.back());
}

json TelegramEmulator::get_updates_now(int64_t offset, int limit) {
  // Telegram forgets every update below the offset: that is how the client confirms them.
  while (!updates_.empty() && updates_.front()["update_id"].get<int64_t>() < offset) updates_.pop_front();
  json out = json::array();
  for (const auto& u : updates_) {
    if (static_cast<int>(out.size()) >= limit) break;
    out.push_back(u);
  }
  return out;
}

awaitable<http::Response> TelegramEmulator::bot_api(http::Request& request) {
  std::string path(request.path());
  auto slash = path.find('/', 4);
  if (slash == std::string::npos) co_return api_error({404, "Not Found"});
  std::string token = path.substr(4, slash - 4);
  std::string method = path.substr(slash + 1);
  if (token != options_.token) co_return api_error({401, "Unauthorized"});
  // Telegram counts a call when it arrives (the whole request is read by now), not when its answer leaves.
  auto arrived = Clock::now();
  stats_["calls"][method] = stats_["calls"].value(method, 0) + 1;
  json params = json::object();
  std::map<std::string, std::string> files;
  const auto& body = request.message.body();
  auto content_type = request.header("Content-Type");
  try {
    if (auto boundary = multipart_boundary(content_type)) {
      for (auto& part : parse_multipart(body, *boundary)) {
        if (!part.filename.empty()) {
          params["__filename_" + part.name] = part.filename;
          files[part.name] = std::move(part.data);
        } else {
          params[part.name] = part.data;
        }
      }
    } else if (!body.empty()) {
      params = json::parse(body);
      if (!params.is_object()) throw std::invalid_argument("parameters must be a JSON object");
    }
  } catch (const std::exception& e) {
    co_return api_error({400, std::string("Bad Request: can't parse request: ") + e.what()});
  }
  auto refusal = admit(method, params, arrived);
  if (latency_.count() > 0 || latency_jitter_.count() > 0) {
    auto jitter = latency_jitter_.count() > 0 ? Millis(std::rand() % (latency_jitter_.count() + 1)) : Millis(0);
    co_await sleep_for(latency_ + jitter);
  }
  if (refusal) co_return std::move(*refusal);
  if (auto f = failures_.find(method); f != failures_.end()) {
    ApiFailure failure{f->second.error_code, f->second.description, f->second.retry_after};
    if (--f->second.remaining <= 0) failures_.erase(f);
    co_return api_error(failure);
  }
  if (method == "getUpdates") {
    if (!webhook_url_.empty())
      co_return api_error(
          {409,
           "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
           "webhook first"});
    int64_t offset = params.value("offset", int64_t{0});
    int limit = std::clamp(params.value("limit", 100), 1, 100);
    int timeout = std::clamp(params.value("timeout", 0), 0, 50);
    auto deadline = Clock::now() + std::chrono::seconds(timeout);
    json result = get_updates_now(offset, limit);
    while (result.empty() && Clock::now() < deadline && !stopping_) {
      updates_arrived_.reset();
      co_await updates_arrived_.wait_until(std::min(deadline, Clock::now() + Millis(200)));
      result = get_updates_now(offset, limit);
    }
    co_return api_ok(std::move(result));
  }
  try {
    co_return api_ok(call_method(method, params, files));
  } catch (const ApiFailure& f) {
    // What the Bot API refused (a text it cannot parse, a button it does not take), kept for tests to read: the
    // newest ten with their method and description. An edit that changes nothing is refused too, harmlessly.
    if (f.code == 400 && f.description.find("message is not modified") == std::string::npos) {
      stats_["bad_requests"] = stats_["bad_requests"].get<int>() + 1;
      auto& last = stats_["last_bad_requests"];
      last.push_back({{"method", method}, {"description", f.description}});
      if (last.size() > 10) last.erase(last.begin());
    }
    co_return api_error(f);
  } catch (const json::exception& e) {
    co_return api_error({400, std::string("Bad Request: ") + e.what()});
  }
}

awaitable<void> TelegramEmulator::deliver_webhooks() {
  Millis backoff{200};
  while (!stopping_ && !webhook_url_.empty()) {
    if (updates_.empty()) {
      updates_arrived_.reset();
      co_await updates_arrived_.wait_for(Millis(500));
      continue;
    }
    json update = std::move(updates_.front());
    updates_.pop_front();
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
    if (!webhook_secret_.empty()) headers.push_back({"X-Telegram-Bot-Api-Secret-Token", webhook_secret_});
    bool delivered =
        co_await post_webhook(*client_, webhook_url_, std::move(headers), update.dump(), "telegram update");
    if (delivered) {
      stats_["webhook_delivered"] = stats_["webhook_delivered"].get<int>() + 1;
      backoff = Millis(200);
      continue;
    }
    // Like Telegram: keep the update and try again later.
    stats_["webhook_failed_attempts"] = stats_["webhook_failed_attempts"].get<int>() + 1;
    updates_.push_front(std::move(update));
    co_await sleep_for(backoff);
    backoff = std::min(backoff * 2, Millis(5000));
  }
  --deliverers_;
}

awaitable<http::Response> TelegramEmulator::client_api(http::Request& request) {
  std::string path(request.path());
  auto query = query_params(request.target());
  json body = json::object();
  if (!request.message.body().empty()) {
    body = json::parse(request.message.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object())
      co_return http::json_response(http::bhttp::status::bad_request, {{"error", "body must be a JSON object"}});
  }
  try {
    if (path == "/client/forum") {  // {"chat_id": -100..., "title": "...", "can_manage_topics": bool}
      int64_t chat_id = body.at("chat_id");
      auto& forum = forums_[chat_id];
      forum.title = body.value("title", forum.title.empty() ? "Support" : forum.title);
      forum.bot_can_manage_topics = body.value("can_manage_topics", forum.bot_can_manage_topics);
      co_return http::json_response(http::bhttp::status::ok, {{"ok", true}});
    }
    if (path == "/client/forum/post") {  // a member writes in a topic: {"chat_id", "thread_id", "user_id", "text"}
      int64_t chat_id = body.at("chat_id");
      auto forum = forums_.find(chat_id);
      if (forum == forums_.end())
        co_return http::json_response(http::bhttp::status::not_found, {{"error", "no forum"}});
      ForumMessage m;
      m.thread_id = body.value("thread_id", int64_t{0});
      m.from_user = body.at("user_id");
      m.from_name = body.value("first_name", "Staff");
      m.message.from_bot = false;
      m.message.message_id = next_message_id_++;
      m.message.date = now_unix();
      m.message.text = body.at("text").get<std::string>();
      forum->second.messages.push_back(m);
      json message = forum_message_json(chat_id, forum->second, m);
      if (m.message.text.rfind('/', 0) == 0) {
        auto end = m.message.text.find(' ');
        message["entities"] = json::array({{{"type", "bot_command"},
                                            {"offset", 0},
                                            {"length", end == std::string::npos ? m.message.text.size() : end}}});
      }
      int64_t id = push_update({{"message", message}});
      co_return http::json_response(http::bhttp::status::ok, {{"update_id", id}, {"message_id", m.message.message_id}});
    }
    if (path == "/client/forum/state") {  // ?chat_id=: topics and every message in them
      int64_t chat_id = std::stoll(query.at("chat_id"));
      auto forum = forums_.find(chat_id);
      if (forum == forums_.end())
        co_return http::json_response(http::bhttp::status::not_found, {{"error", "no forum"}});
      json topics = json::array(), messages = json::array();
      for (const auto& [id, topic] : forum->second.topics)
        topics.push_back({{"message_thread_id", id}, {"name", topic.name}, {"closed", topic.closed}});
      for (const auto& m : forum->second.messages) {
        json j = forum_message_json(chat_id, forum->second, m);
        j["from_bot"] = m.message.from_bot;
        messages.push_back(j);
      }
      co_return http::json_response(http::bhttp::status::ok, {{"topics", topics}, {"messages", messages}});
    }
    if (path == "/client/send_message" && (body.contains("photo") || body.contains("document"))) {
      // A photo ({"photo": "bytes"}) or a file ({"document": "bytes", "file_name": ...}) with an optional caption.
      int64_t user_id = body.at("user_id");
      auto& u = user(user_id, body);
      Message m{next_message_id_++, false, body.contains("photo") ? "photo" : "document", body.value("caption", "")};
      m.date = now_unix();
      m.file_data = body.value(m.kind, "");
      m.filename = body.value("file_name", "file");
      u.messages.push_back(m);
      int64_t id = push_update({{"message", message_json(u, m)}});
      co_return http::json_response(http::bhttp::status::ok, {{"update_id", id}, {"message_id", m.message_id}});
    }
    if (path == "/client/send_message") {
      int64_t user_id = body.at("user_id");
      auto& u = user(user_id, body);
      Message m{next_message_id_++, false, "text", body.at("text").get<std::string>()};
      m.date = now_unix();
      u.messages.push_back(m);
      json message = message_json(u, m);
      if (m.text.rfind('/', 0) == 0) {
        auto end = m.text.find(' ');
        message["entities"] = json::array(
            {{{"type", "bot_command"}, {"offset", 0}, {"length", end == std::string::npos ? m.text.size() : end}}});
      }
      int64_t id = push_update({{"message", message}});
      co_return http::json_response(http::bhttp::status::ok, {{"update_id", id}, {"message_id", m.message_id}});
    }
    if (path == "/client/press") {
      int64_t user_id = body.at("user_id");
      auto& u = user(user_id, body);
      int64_t message_id = body.at("message_id");
      json message;
      for (const auto& m : u.messages)
        if (m.message_id == message_id) message = message_json(u, m);
      if (message.is_null())
        co_return http::json_response(http::bhttp::status::not_found, {{"error", "no such message"}});
      static int64_t next_query = 1;
      std::string query_id = std::to_string(next_query++);
      callback_query_user_[query_id] = user_id;
      json query{{"id", query_id},
                 {"from", user_json(u)},
                 {"message", message},
                 {"chat_instance", "ci" + std::to_string(user_id)},
                 {"data", body.at("data").get<std::string>()}};
      int64_t id = push_update({{"callback_query", query}});
      co_return http::json_response(http::bhttp::status::ok, {{"update_id", id}});
    }
    if (path == "/client/block") {
      int64_t user_id = body.at("user_id");
      auto& u = user(user_id, body);
      bool blocked = body.value("blocked", true);
      u.blocked = blocked;
      json chat{{"id", u.id}, {"type", "private"}, {"first_name", u.first_name}};
      json bot{{"id", 123456}, {"is_bot", true}, {"first_name", "VPN"}, {"username", options_.bot_username}};
      int64_t id = push_update({{"my_chat_member",
                                 {{"chat", chat},
                                  {"from", user_json(u)},
                                  {"date", now_unix()},
                                  {"old_chat_member", {{"user", bot}, {"status", blocked ? "member" : "kicked"}}},
                                  {"new_chat_member", {{"user", bot}, {"status", blocked ? "kicked" : "member"}}}}}});
      co_return http::json_response(http::bhttp::status::ok, {{"update_id", id}});
    }
    if (path == "/client/pay") {
      int64_t user_id = body.at("user_id");
      auto& u = user(user_id, body);
      int64_t message_id = body.at("message_id");
      for (const auto& m : u.messages) {
        if (m.message_id != message_id || m.kind != "invoice") continue;
        int64_t total = 0;
        for (const auto& p : m.invoice["prices"]) total += p.value("amount", 0);
        static int64_t next_checkout = 1;
        int64_t qid = next_checkout++;
        json q{{"id", std::to_string(qid)},
               {"from", user_json(u)},
               {"currency", m.invoice["currency"]},
               {"total_amount", total},
               {"invoice_payload", m.invoice["payload"]}};
        pre_checkouts_[qid] = q;
        pre_checkout_at_[qid] = Clock::now();
        int64_t id = push_update({{"pre_checkout_query", q}});
        co_return http::json_response(http::bhttp::status::ok, {{"update_id", id}});
      }
      co_return http::json_response(http::bhttp::status::not_found, {{"error", "no such invoice"}});
    }
    if (path == "/client/users") {  // many users at once (broadcast tests): ids from..from+count-1
      int64_t from = body.at("from"), count = body.at("count");
      std::set<int64_t> blocked;
      for (const auto& b : body.value("blocked", json::array())) blocked.insert(b.get<int64_t>());
      for (int64_t id = from; id < from + count; ++id) {
        auto& u = user(id, {{"first_name", "U" + std::to_string(id)}});
        u.blocked = blocked.count(id) > 0;
      }
      co_return http::json_response(http::bhttp::status::ok, {{"created", count}});
    }
    if (path == "/client/message_counts") {  // messages the bot sent, per chat (only chats with any)
      json out = json::object();
      for (const auto& [id, u] : users_) {
        int n = 0;
        for (const auto& m : u.messages) n += m.from_bot;
        if (n) out[std::to_string(id)] = n;
      }
      co_return http::json_response(http::bhttp::status::ok, out);
    }
    if (path == "/client/raw_update") {  // arbitrary (even malformed) update content, for robustness tests
      int64_t id = push_update(body);
      co_return http::json_response(http::bhttp::status::ok, {{"update_id", id}});
    }
    if (path == "/client/messages") {
      int64_t chat_id = std::stoll(query.at("chat_id"));
      json out = json::array();
      if (auto it = users_.find(chat_id); it != users_.end())
        for (const auto& m : it->second.messages) {
          if (m.deleted) continue;
          json j = message_json(it->second, m);
          j["edited"] = m.edited;
          j["from_bot"] = m.from_bot;
          out.push_back(std::move(j));
        }
      co_return http::json_response(http::bhttp::status::ok, {{"messages", out}});
    }
    if (path == "/client/channel") {  // creates or changes a channel: {"channel": "@name", "bot_is_admin": bool}
      auto& channel = channels_[body.at("channel").get<std::string>()];
      channel.bot_is_admin = body.value("bot_is_admin", channel.bot_is_admin);
      co_return http::json_response(http::bhttp::status::ok, {{"ok", true}});
    }
    if (path == "/client/channel/join" || path == "/client/channel/leave") {  // {"channel": "@name", "user_id": N}
      auto channel = channels_.find(body.at("channel").get<std::string>());
      if (channel == channels_.end())
        co_return http::json_response(http::bhttp::status::not_found, {{"error", "no such channel"}});
      int64_t user_id = body.at("user_id");
      if (path == "/client/channel/join")
        channel->second.members.insert(user_id);
      else
        channel->second.members.erase(user_id);
      co_return http::json_response(http::bhttp::status::ok, {{"ok", true}});
    }
    if (path == "/client/callback_answers") {  // what the bot answered to one user's button presses, oldest first
      int64_t user_id = std::stoll(query.at("user_id"));
      json out = json::array();
      if (auto it = callback_answers_.find(user_id); it != callback_answers_.end())
        for (const auto& a : it->second) out.push_back(a);
      co_return http::json_response(http::bhttp::status::ok, {{"answers", out}});
    }
    if (path == "/client/file") {
      int64_t chat_id = std::stoll(query.at("chat_id"));
      int64_t message_id = std::stoll(query.at("message_id"));
      if (auto it = users_.find(chat_id); it != users_.end())
        for (const auto& m : it->second.messages)
          if (m.message_id == message_id && !m.file_data.empty())
            co_return http::make_response(http::bhttp::status::ok, m.file_data,
                                          m.kind == "photo" ? "image/png" : "application/octet-stream");
      co_return http::json_response(http::bhttp::status::not_found, {{"error", "no such file"}});
    }
    if (path == "/client/stats") {
      json s = stats_;
      s["pending_updates"] = updates_.size();
      s["webhook_url"] = webhook_url_;
      co_return http::json_response(http::bhttp::status::ok, s);
    }
    if (path == "/client/fail") {
      failures_[body.at("method").get<std::string>()] =
          Injected{body.value("error_code", 500), body.value("description", "Internal Server Error"),
                   body.contains("retry_after") ? std::optional<int>(body["retry_after"].get<int>()) : std::nullopt,
                   body.value("count", 1)};
      co_return http::json_response(http::bhttp::status::ok, {{"ok", true}});
    }
    if (path == "/client/latency") {
      latency_ = Millis(body.value("ms", 0));
      latency_jitter_ = Millis(body.value("jitter_ms", 0));
      co_return http::json_response(http::bhttp::status::ok, {{"ok", true}});
    }
  } catch (const std::exception& e) {
    co_return http::json_response(http::bhttp::status::bad_request, {{"error", e.what()}});
  }
  co_return http::json_response(http::bhttp::status::not_found, {{"error", "unknown client call"}});
}

}  // namespace vpnbot::emulator
