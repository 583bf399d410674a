// A Telegram update body as the webhook or getUpdates delivers it: parsing, classification and the bot's shape check
// never crash, and a classified update always has a non-negative id and a kind.
#include <cstdlib>

#include "bot/update_shape.hpp"
#include "core/json.hpp"
#include "telegram/update_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // As the webhook reads it: within the untrusted-input limits, or not at all.
  auto update = vpnbot::parse_json_or_discarded(std::string_view(reinterpret_cast<const char*>(data), size));
  if (update.is_discarded()) return 0;
  try {
    auto key = vpnbot::telegram::classify_update(update);
    if (key.update_id < 0 || key.kind.empty() || !update[key.kind].is_object()) std::abort();
    (void)vpnbot::bot::update_shape_problem(key.kind, update);  // must not throw whatever the content
  } catch (const vpnbot::telegram::MalformedUpdate&) {
  }
  return 0;
}
