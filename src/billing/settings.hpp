#pragma once
#include <string>
#include <vector>

#include "billing/cryptopay/settings.hpp"
#include "billing/heleket/settings.hpp"
#include "billing/yookassa/settings.hpp"
#include "core/config.hpp"

namespace vpnbot::billing {

// The billing section: what is offered at checkout, the rewards, and each provider's credentials.
struct Settings {
  std::vector<std::string> payment_methods{"yookassa", "heleket", "cryptopay", "stars", "balance"};
  int trial_days = 3;
  int trial_device_limit = 1;
  int order_ttl_ms = 3600000;
  std::vector<int> referral_percents{10, 5, 2};
  int cashback_percent = 5;
  int referral_bonus_days = 3;
  int expiry_grace_ms = 0;
  // Each provider declares its own keys (yookassa_*, heleket_*, cryptopay_*) in its folder.
  YooKassaSettings yookassa;
  HeleketSettings heleket;
  CryptoPaySettings cryptopay;
  // payment_methods minus the providers without credentials.
  std::vector<std::string> enabled_payment_methods() const;
};
void declare_settings(ConfigSchema& schema, Settings& settings);

}  // namespace vpnbot::billing
