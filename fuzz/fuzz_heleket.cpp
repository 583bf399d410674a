// A Heleket webhook body: verification never crashes, and a body accepted as correctly signed really carries the
// sign of its own content (re-signing what was accepted gives the same sign).
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "billing/heleket/notification.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string key = "fuzz-api-key";
  std::string body(reinterpret_cast<const char*>(data), size);
  try {
    auto webhook = vpnbot::billing::verify_heleket_webhook(body, key);
    auto signed_body = nlohmann::ordered_json::parse(body);
    if (vpnbot::billing::heleket_sign(vpnbot::billing::php_json_encode(webhook.body), key) != signed_body["sign"])
      std::abort();
  } catch (const std::invalid_argument&) {
  }
  // Signing any parsed body and verifying it must succeed unless required fields are missing.
  auto parsed = nlohmann::ordered_json::parse(body, nullptr, false);
  if (parsed.is_object()) {
    parsed.erase("sign");
    parsed["sign"] = vpnbot::billing::heleket_sign(vpnbot::billing::php_json_encode(parsed), key);
    try {
      vpnbot::billing::verify_heleket_webhook(parsed.dump(), key);
    } catch (const std::invalid_argument& e) {
      if (std::string(e.what()) == "sign does not match") std::abort();
    }
  }
  return 0;
}
