#pragma once
#include <optional>
#include <string>
#include <vector>

#include "billing/provider.hpp"  // ProviderError
#include "http/client.hpp"

namespace vpnbot::billing {

// YooKassa's published notification sources (https://yookassa.ru/developers/using-api/webhooks).
inline const std::vector<std::string> kYooKassaNetworks{"185.71.76.0/27", "185.71.77.0/27", "77.75.153.0/25",
                                                        "77.75.156.11",   "77.75.156.35",   "77.75.154.128/25",
                                                        "2a02:5180::/32"};

struct YooKassaOptions {
  std::string api_url = "https://api.yookassa.ru";
  std::string shop_id;
  std::string secret_key;
  std::string return_url;     // where the checkout page sends the user back (the bot's t.me link)
  int vat_code = 0;           // > 0: send 54-FZ receipt data with this VAT code
  std::string receipt_email;  // the customer contact the receipt needs
  Millis timeout{15000};
};

struct YooKassaPayment {
  std::string id;
  std::string status;  // pending, waiting_for_capture, succeeded, canceled
  bool paid = false;
  int64_t amount = 0;  // kopecks
  std::string currency;
  std::optional<int64_t> order_id;  // from metadata
  std::string confirmation_url;
  // payment_method: what paid; `saved` when YooKassa keeps it for autopayments (then `id` charges it again).
  std::string method_id, method_title;
  bool method_saved = false;
  std::string cancellation_reason;  // cancellation_details.reason of a canceled payment
};

struct YooKassaRefund {
  std::string id, payment_id, status;  // status: pending, succeeded, canceled
  int64_t amount = 0;
  std::string currency;
};

class YooKassa {
 public:
  YooKassa(http::Client& client, YooKassaOptions options) : client_(client), options_(std::move(options)) {}
  bool configured() const { return !options_.shop_id.empty() && !options_.secret_key.empty(); }
  // POST /v3/payments with Idempotence-Key = "order-<id>": a retry after a timeout returns the same payment.
  // `save_method`: the user agreed to keep the card for autopayments (save_payment_method).
  awaitable<YooKassaPayment> create_payment(int64_t order_id, int64_t amount_kopecks, const std::string& description,
                                            bool save_method);
  // An autopayment: charges a saved payment_method_id without the user (no confirmation), same Idempotence-Key
  // discipline. YooKassa answers with the final status at once, or pending while a receipt is being registered.
  awaitable<YooKassaPayment> charge_saved_method(int64_t order_id, int64_t amount_kopecks,
                                                 const std::string& description, const std::string& method_id);
  awaitable<YooKassaPayment> get_payment(const std::string& payment_id);
  awaitable<YooKassaRefund> get_refund(const std::string& refund_id);
  static YooKassaPayment parse_payment(const nlohmann::json& j);

 private:
  awaitable<nlohmann::json> call(std::string method, std::string path, std::string body, std::string idempotence_key);
  // amount, description, metadata and (with a VAT code) the 54-FZ receipt every payment carries.
  nlohmann::json payment_body(int64_t order_id, int64_t amount_kopecks, const std::string& description) const;
  http::Client& client_;
  YooKassaOptions options_;
};

}  // namespace vpnbot::billing
