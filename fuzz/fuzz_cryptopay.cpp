// A Crypto Pay webhook body: verification never crashes or lets anything but std::invalid_argument out, a body is
// accepted only with its own signature, and a correctly signed body is refused only for its content.
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "billing/cryptopay/notification.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string token = "12345:fuzz-token";
  std::string body(reinterpret_cast<const char*>(data), size);
  const std::string good = vpnbot::billing::cryptopay_signature(body, token);
  try {
    vpnbot::billing::verify_cryptopay_update(body, "0" + good.substr(1), token);
    if (good[0] != '0') std::abort();  // accepted with a signature that is not the body's
  } catch (const std::invalid_argument&) {
    // refused: what a forged signature must get
  }
  try {
    auto update = vpnbot::billing::verify_cryptopay_update(body, good, token);
    if (update.invoice.invoice_id <= 0) std::abort();
  } catch (const std::invalid_argument& e) {
    if (std::string(e.what()) == "signature does not match") std::abort();
  }
  return 0;
}
