#include "bot/update_shape.hpp"

#include <initializer_list>

namespace vpnbot::bot {
namespace {

using nlohmann::json;

// Each check returns an empty string when the field is absent or well-typed, else a description.
std::string optional_string(const json& object, const char* field, const std::string& where) {
  if (object.contains(field) && !object[field].is_string() && !object[field].is_null())
    return where + "." + field + " is not a string";
  return "";
}

std::string optional_integer(const json& object, const char* field, const std::string& where) {
  if (object.contains(field) && !object[field].is_number_integer()) return where + "." + field + " is not an integer";
  return "";
}

std::string required_object(const json& object, const char* field, const std::string& where) {
  if (!object.contains(field) || !object[field].is_object()) return where + "." + field + " is not an object";
  return "";
}

std::string first_problem(std::initializer_list<std::string> problems) {
  for (const auto& p : problems)
    if (!p.empty()) return p;
  return "";
}

std::string user_problem(const json& parent, const std::string& where) {
  if (auto p = required_object(parent, "from", where); !p.empty()) return p;
  const auto& from = parent["from"];
  auto at = where + ".from";
  if (!from.contains("id") || !from["id"].is_number_integer()) return at + ".id is not an integer";
  return first_problem({optional_string(from, "first_name", at), optional_string(from, "username", at),
                        optional_string(from, "language_code", at)});
}

std::string chat_problem(const json& parent, const std::string& where, bool required) {
  if (!parent.contains("chat") && !required) return "";
  if (auto p = required_object(parent, "chat", where); !p.empty()) return p;
  const auto& chat = parent["chat"];
  auto at = where + ".chat";
  if (!chat.contains("id") || !chat["id"].is_number_integer()) return at + ".id is not an integer";
  return optional_string(chat, "type", at);
}

std::string payment_problem(const json& payment, const std::string& at) {
  return first_problem({optional_string(payment, "invoice_payload", at), optional_string(payment, "currency", at),
                        optional_string(payment, "telegram_payment_charge_id", at),
                        optional_integer(payment, "total_amount", at)});
}

std::string message_problem(const json& message) {
  const std::string at = "message";
  if (auto p = first_problem({user_problem(message, at), chat_problem(message, at, false),
                              optional_string(message, "text", at), optional_string(message, "caption", at),
                              optional_integer(message, "message_id", at),
                              optional_integer(message, "message_thread_id", at)});
      !p.empty())
    return p;
  if (message.contains("is_topic_message") && !message["is_topic_message"].is_boolean())
    return at + ".is_topic_message is not a boolean";
  if (message.contains("successful_payment") && !message["successful_payment"].is_null()) {
    if (!message["successful_payment"].is_object()) return "message.successful_payment is not an object";
    return payment_problem(message["successful_payment"], "message.successful_payment");
  }
  return "";
}

std::string callback_problem(const json& query) {
  const std::string at = "callback_query";
  if (!query.contains("id") || !query["id"].is_string()) return at + ".id is not a string";
  if (auto p = first_problem({user_problem(query, at), optional_string(query, "data", at)}); !p.empty()) return p;
  if (!query.contains("message")) return "";
  if (!query["message"].is_object()) return at + ".message is not an object";
  const auto& message = query["message"];
  return first_problem(
      {optional_integer(message, "message_id", at + ".message"), chat_problem(message, at + ".message", false)});
}

std::string pre_checkout_problem(const json& query) {
  const std::string at = "pre_checkout_query";
  if (!query.contains("id") || !query["id"].is_string()) return at + ".id is not a string";
  return first_problem({user_problem(query, at), payment_problem(query, at)});
}

std::string chat_member_problem(const json& member) {
  const std::string at = "my_chat_member";
  if (auto p = first_problem({user_problem(member, at), chat_problem(member, at, true)}); !p.empty()) return p;
  if (!member.contains("new_chat_member")) return "";
  if (!member["new_chat_member"].is_object()) return at + ".new_chat_member is not an object";
  return optional_string(member["new_chat_member"], "status", at + ".new_chat_member");
}

}  // namespace

std::optional<std::string> update_shape_problem(const std::string& kind, const json& payload) {
  if (!payload.is_object()) return "the update is not an object";
  if (!payload.contains(kind) || !payload[kind].is_object()) return kind + " is not an object";
  const auto& body = payload[kind];
  std::string problem;
  if (kind == "message")
    problem = message_problem(body);
  else if (kind == "callback_query")
    problem = callback_problem(body);
  else if (kind == "pre_checkout_query")
    problem = pre_checkout_problem(body);
  else if (kind == "my_chat_member")
    problem = chat_member_problem(body);
  if (problem.empty()) return std::nullopt;
  return problem;
}

}  // namespace vpnbot::bot
