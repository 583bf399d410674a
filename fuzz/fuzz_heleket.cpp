// A Heleket webhook body: verification never crashes (nor recurses on the body's depth: scripts/fuzz runs with a
// small stack), and a body accepted as correctly signed really carries the sign of its own content.
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "billing/heleket/notification.hpp"
#include "core/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string key = "fuzz-api-key";
  std::string body(reinterpret_cast<const char*>(data), size);
  try {
    auto webhook = vpnbot::billing::verify_heleket_webhook(body, key);
    std::string sign;
    std::string signed_text = vpnbot::billing::php_json_encode_text(body, &sign);
    if (vpnbot::billing::heleket_sign(signed_text, key) != sign) std::abort();
    if (webhook.body.contains("sign")) std::abort();
  } catch (const std::invalid_argument&) {
  }
  // Signing any body within the limits and verifying it must succeed unless required fields are missing. Only
  // bodies within the limits reach the DOM (and its recursive dump) here, as in the gateway.
  if (!vpnbot::parse_json_or_discarded(body).is_object()) return 0;
  auto parsed = nlohmann::ordered_json::parse(body);
  parsed.erase("sign");
  parsed["sign"] = vpnbot::billing::heleket_sign(vpnbot::billing::php_json_encode(parsed), key);
  try {
    vpnbot::billing::verify_heleket_webhook(parsed.dump(), key);
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()) == "sign does not match") std::abort();
  }
  return 0;
}
