#pragma once
#include <string>
#include <vector>

#include "core/config.hpp"

namespace vpnbot::billing {

// The yookassa_* keys of the billing section.
struct YooKassaSettings {
  std::string api_url = "https://api.yookassa.ru";
  std::string shop_id;
  std::string secret_key;
  std::string return_url;
  int vat_code = 0;
  std::string receipt_email;
  std::vector<std::string> allowed_ips;  // default: YooKassa's published ranges
  bool save_cards = false;               // autopayments are enabled for the shop (YooKassa enables them on request)
};
void declare_settings(ConfigSchema& schema, YooKassaSettings& settings);

}  // namespace vpnbot::billing
