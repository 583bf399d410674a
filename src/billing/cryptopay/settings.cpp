#include "billing/cryptopay/settings.hpp"

#include "http/settings.hpp"

namespace vpnbot::billing {

void declare_settings(ConfigSchema& schema, CryptoPaySettings& s) {
  schema.string("cryptopay_api_url", s.api_url, false,
                "Crypto Pay API base URL (https://testnet-pay.crypt.bot for @CryptoTestnetBot).", http::check_url);
  schema.string("cryptopay_token", s.token, false,
                "Crypto Pay app token from @CryptoBot (/pay); also the key of its webhook signatures.");
  schema.string("cryptopay_accepted_assets", s.accepted_assets, false,
                "Assets the invoice may be paid in, comma-separated (e.g. USDT,TON,BTC); empty: all the app accepts.",
                [](const ConfigValue& v, const std::string& assets) {
                  for (char c : assets)
                    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ','))
                      v.fail("must be asset codes separated by commas, e.g. USDT,TON,BTC");
                });
}

}  // namespace vpnbot::billing
