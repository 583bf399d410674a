#include "billing/settings.hpp"

#include <fmt/format.h>

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

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.add("payment_methods", "list", "yookassa,heleket,cryptopay,stars,balance", false,
             "Payment methods offered at checkout (yookassa, heleket, cryptopay, stars, balance); a provider without "
             "credentials is left out.",
             [&s](const ConfigValue& v) {
               auto methods = v.as_list();
               for (const auto& m : methods)
                 if (m != "yookassa" && m != "heleket" && m != "cryptopay" && m != "stars" && m != "balance")
                   v.fail(fmt::format("unknown payment method '{}' (yookassa, heleket, cryptopay, stars, balance)", m));
               s.payment_methods = methods;
             });
  schema.integer("trial_days", s.trial_days, 0, 365, "Free trial length; 0 turns the trial off.");
  schema.integer("trial_device_limit", s.trial_device_limit, 1, 100, "Configs during the trial.");
  schema.integer("order_ttl_ms", s.order_ttl_ms, 60000, 604800000,
                 "An unpaid order expires after this (a late payment is still honoured).");
  schema.int_list("referral_percents", s.referral_percents, 0, 100, 10,
                  "Referral reward per level in percent of the purchase (the number of entries is the depth).");
  schema.integer("cashback_percent", s.cashback_percent, 0, 100,
                 "Bonus points per purchase in percent of its price (1 point = 1 RUB when exchanged).");
  schema.integer("referral_bonus_days", s.referral_bonus_days, 0, 365,
                 "Extra days on the first purchase of a user who came by a referral link.");
  schema.integer("expiry_grace_ms", s.expiry_grace_ms, 0, 604800000,
                 "Configs keep working this long after the subscription expires.");
  declare_settings(schema, s.yookassa);
  declare_settings(schema, s.heleket);
  declare_settings(schema, s.cryptopay);
}

}  // namespace vpnbot::billing
