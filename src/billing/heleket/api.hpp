#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "billing/heleket/notification.hpp"
#include "billing/provider.hpp"
#include "http/client.hpp"

namespace vpnbot::billing {

struct HeleketOptions {
  std::string api_url = "https://api.heleket.com";
  std::string merchant;  // merchant uuid
  std::string api_key;   // payment API key: signs requests and webhooks
  std::string callback_url;
  std::string return_url;
  int lifetime_s = 3600;
  Millis timeout{15000};
};

struct HeleketInvoice {
  std::string uuid, order_id, status, url;
  int64_t amount = 0;  // kopecks (the invoice is in RUB)
  std::string currency;
};

class Heleket {
 public:
  Heleket(http::Client& client, HeleketOptions options) : client_(client), options_(std::move(options)) {}
  bool configured() const { return !options_.merchant.empty() && !options_.api_key.empty(); }
  // POST /v1/payment. Heleket returns the existing invoice for an order_id it already has, so a retry is safe.
  awaitable<HeleketInvoice> create_invoice(int64_t order_id, int64_t amount_kopecks);
  awaitable<HeleketInvoice> invoice_info(const std::string& uuid);
  static std::string order_ref(int64_t order_id) { return external_order_ref(order_id); }
  static std::optional<int64_t> parse_order_ref(const std::string& ref) { return parse_external_order_ref(ref); }

 private:
  awaitable<nlohmann::json> call(std::string path, nlohmann::json body);
  http::Client& client_;
  HeleketOptions options_;
};

}  // namespace vpnbot::billing
