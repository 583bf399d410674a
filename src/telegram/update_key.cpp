#include "telegram/update_key.hpp"

namespace vpnbot::telegram {
namespace {

std::optional<int64_t> int_at(const json& j, std::initializer_list<const char*> path) {
  const json* cur = &j;
  for (const char* p : path) {
    if (!cur->is_object()) return std::nullopt;
    auto it = cur->find(p);
    if (it == cur->end()) return std::nullopt;
    cur = &*it;
  }
  if (!cur->is_number_integer()) return std::nullopt;
  return cur->get<int64_t>();
}

}  // namespace

UpdateKey classify_update(const json& update) {
  if (!update.is_object()) throw MalformedUpdate("update is not a JSON object");
  auto id = int_at(update, {"update_id"});
  if (!id || *id < 0) throw MalformedUpdate("update has no integer update_id");
  UpdateKey key{*id, std::nullopt, ""};
  for (const auto& [field, value] : update.items()) {
    if (field == "update_id") continue;
    if (!value.is_object()) continue;
    key.kind = field;
    break;
  }
  if (key.kind.empty()) throw MalformedUpdate("update " + std::to_string(*id) + " has no content");
  const json& body = update[key.kind];
  // The chat whose order the update belongs to: the chat of a message, else the user who caused it.
  key.chat_id = int_at(body, {"chat", "id"});
  if (!key.chat_id) key.chat_id = int_at(body, {"message", "chat", "id"});
  if (!key.chat_id) key.chat_id = int_at(body, {"from", "id"});
  if (!key.chat_id) key.chat_id = int_at(body, {"user", "id"});
  return key;
}

}  // namespace vpnbot::telegram
