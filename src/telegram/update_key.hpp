#pragma once
// Reading an update's identity (pure: no I/O), apart from the inbox so it can be unit-tested and fuzzed alone.
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace vpnbot::telegram {

using json = nlohmann::json;

class MalformedUpdate : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the inbox needs to know of an update: its id, the chat whose order it belongs to, and its kind.
struct UpdateKey {
  int64_t update_id = 0;
  std::optional<int64_t> chat_id;
  std::string kind;  // the update's field: message, callback_query, my_chat_member, pre_checkout_query, ...
};
// Pure: throws MalformedUpdate when there is no integer update_id or no recognisable content.
UpdateKey classify_update(const json& update);

}  // namespace vpnbot::telegram
