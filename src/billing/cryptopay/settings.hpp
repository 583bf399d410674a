#pragma once
#include <string>

#include "core/config.hpp"

namespace vpnbot::billing {

// The cryptopay_* keys of the billing section.
struct CryptoPaySettings {
  std::string api_url = "https://pay.crypt.bot";
  std::string token;
  std::string accepted_assets;
};
void declare_settings(ConfigSchema& schema, CryptoPaySettings& settings);

}  // namespace vpnbot::billing
