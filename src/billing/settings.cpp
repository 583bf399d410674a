#include "billing/settings.hpp"

#include <fmt/format.h>

#include "http/settings.hpp"

namespace vpnbot::billing {

std::vector<std::string> Settings::enabled_payment_methods() const {
  std::vector<std::string> out;
  for (const auto& m : payment_methods) {
    if (m == "yookassa" && (yookassa_shop_id.empty() || yookassa_secret_key.empty())) continue;
    if (m == "heleket" && (heleket_merchant.empty() || heleket_api_key.empty())) continue;
    out.push_back(m);
  }
  return out;
}

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.add("payment_methods", "list", "yookassa,heleket,stars,balance", false,
             "Payment methods offered at checkout (yookassa, heleket, stars, balance); a provider without credentials "
             "is left out.",
             [&s](const ConfigValue& v) {
               auto methods = v.as_list();
               for (const auto& m : methods)
                 if (m != "yookassa" && m != "heleket" && m != "stars" && m != "balance")
                   v.fail(fmt::format("unknown payment method '{}' (yookassa, heleket, stars, balance)", m));
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
  schema.string("yookassa_api_url", s.yookassa_api_url, false, "YooKassa API base URL (the emulator's in the sandbox).",
                http::check_url);
  schema.string("yookassa_shop_id", s.yookassa_shop_id, false, "YooKassa shopId.");
  schema.string("yookassa_secret_key", s.yookassa_secret_key, false, "YooKassa secret key.");
  schema.string("yookassa_return_url", s.yookassa_return_url, false,
                "Where YooKassa's checkout returns the user (e.g. https://t.me/YourBot).", http::check_url);
  schema.integer("yookassa_vat_code", s.yookassa_vat_code, 0, 12,
                 "When > 0, payments carry 54-FZ receipt data with this VAT code.");
  schema.string("yookassa_receipt_email", s.yookassa_receipt_email, false,
                "Customer e-mail put on 54-FZ receipts (required with yookassa_vat_code).");
  http::declare_networks(schema, "yookassa_allowed_ips", s.yookassa_allowed_ips, "YooKassa's published ranges",
                         "Addresses/networks YooKassa notifications may come from (they are unsigned).");
  schema.string("heleket_api_url", s.heleket_api_url, false, "Heleket API base URL.", http::check_url);
  schema.string("heleket_merchant", s.heleket_merchant, false, "Heleket merchant uuid.");
  schema.string("heleket_api_key", s.heleket_api_key, false, "Heleket payment API key (signs requests and webhooks).");
  http::declare_networks(schema, "heleket_allowed_ips", s.heleket_allowed_ips, "",
                         "Optional: addresses Heleket webhooks may come from (the signature is always checked).");
}

}  // namespace vpnbot::billing
