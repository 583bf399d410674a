// callback_data comes from the client: any bytes decode to ok/expired/malformed without crashing, and whatever
// decodes as ok encodes back to the same bytes (no two spellings of one button).
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "bot/callback.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto decoded = vpnbot::bot::decode_callback(input);
  if (decoded.status != vpnbot::bot::CallbackStatus::ok) return 0;
  std::string again;
  try {
    again = vpnbot::bot::encode_callback(decoded.callback.action, decoded.callback.args);
  } catch (const std::invalid_argument&) {
    std::abort();  // decoded as valid but cannot be encoded: decode accepts too much
  }
  if (again != input) std::abort();
  return 0;
}
