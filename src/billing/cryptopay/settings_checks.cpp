// The check the cryptopay_* keys' settings.json names.
#include "billing/cryptopay/settings.hpp"

namespace vpnbot::billing {

void check_accepted_assets(const ConfigValue& value, const std::string& assets) {
  for (char c : assets)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ','))
      value.fail("must be asset codes separated by commas, e.g. USDT,TON,BTC");
}

}  // namespace vpnbot::billing
