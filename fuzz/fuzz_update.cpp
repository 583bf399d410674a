// A Telegram update body as the webhook or getUpdates delivers it: parsing and classification never crash, and a
// classified update always has a non-negative id and a kind.
#include <cstdlib>

#include "telegram/update_key.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto update = nlohmann::json::parse(data, data + size, nullptr, false);
  if (update.is_discarded()) return 0;
  try {
    auto key = vpnbot::telegram::classify_update(update);
    if (key.update_id < 0 || key.kind.empty() || !update[key.kind].is_object()) std::abort();
  } catch (const vpnbot::telegram::MalformedUpdate&) {
  }
  return 0;
}
