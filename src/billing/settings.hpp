#pragma once
#include <string>
#include <vector>

#include "core/config.hpp"

namespace vpnbot::billing {

// The billing section: what is offered at checkout, the rewards, and each provider's credentials.
struct Settings {
  std::vector<std::string> payment_methods{"yookassa", "heleket", "stars", "balance"};
  int trial_days = 3;
  int trial_device_limit = 1;
  int order_ttl_ms = 3600000;
  std::vector<int> referral_percents{10, 5, 2};
  int cashback_percent = 5;
  int referral_bonus_days = 3;
  int expiry_grace_ms = 0;
  std::string yookassa_api_url = "https://api.yookassa.ru";
  std::string yookassa_shop_id;
  std::string yookassa_secret_key;
  std::string yookassa_return_url;
  int yookassa_vat_code = 0;
  std::string yookassa_receipt_email;
  std::vector<std::string> yookassa_allowed_ips;  // default: YooKassa's published ranges
  std::string heleket_api_url = "https://api.heleket.com";
  std::string heleket_merchant;
  std::string heleket_api_key;
  std::vector<std::string> heleket_allowed_ips;

  // payment_methods minus the providers without credentials.
  std::vector<std::string> enabled_payment_methods() const;
};
void declare_settings(ConfigSchema& schema, Settings& settings);

}  // namespace vpnbot::billing
