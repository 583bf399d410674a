// A Telegram update body as the webhook or getUpdates delivers it: parsing, classification and the bot's shape check
// never crash, and a classified update always has a non-negative id and a kind.
#include <cstdlib>

#include "bot/update_shape.hpp"
#include "telegram/update_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto update = nlohmann::json::parse(data, data + size, nullptr, false);
  if (update.is_discarded()) return 0;
  try {
    auto key = vpnbot::telegram::classify_update(update);
    if (key.update_id < 0 || key.kind.empty() || !update[key.kind].is_object()) std::abort();
    (void)vpnbot::bot::update_shape_problem(key.kind, update);  // must not throw whatever the content
  } catch (const vpnbot::telegram::MalformedUpdate&) {
  }
  return 0;
}
