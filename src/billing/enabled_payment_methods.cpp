// The billing section's one method beside its generated declaration (settings.json): which offered methods can be used.
#include "billing/settings.hpp"

namespace vpnbot::billing {

std::vector<std::string> Settings::enabled_payment_methods() const {
  std::vector<std::string> out;
  for (const auto& m : payment_methods) {
    if (m == "yookassa" && (yookassa.shop_id.empty() || yookassa.secret_key.empty())) continue;
    if (m == "heleket" && (heleket.merchant.empty() || heleket.api_key.empty())) continue;
    if (m == "cryptopay" && cryptopay.token.empty()) continue;
    out.push_back(m);
  }
  return out;
}

}  // namespace vpnbot::billing
