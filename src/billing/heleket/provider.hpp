#pragma once
#include <string>
#include <vector>

#include "billing/heleket/api.hpp"
#include "billing/heleket/settings.hpp"
#include "billing/provider.hpp"
#include "core/ip_network.hpp"

namespace vpnbot::billing {

inline constexpr const char* kHeleketWebhookPath = "/payments/heleket";

// Crypto through Heleket: an invoice per order (Heleket returns the existing one for a known order_id), webhooks
// signed with the payment API key (checked on receipt, so their fields are Heleket's).
class HeleketProvider : public PaymentProvider {
 public:
  // `callback_url`: this gateway's webhook address; `invoice_lifetime_s`: how long an invoice can be paid.
  HeleketProvider(http::Client& client, const HeleketSettings& settings, std::string callback_url,
                  std::string return_url, int invoice_lifetime_s);
  bool configured() const override { return api_.configured(); }
  NoticeCheck accept(const std::string& source_ip, const http::Request& request) const override;
  // Heleket answers a known order_id with its live invoice, so a retry is the same call.
  awaitable<CreatedPayment> create_payment(const Order& order, bool retry) override;
  awaitable<Verdict> verify(const StoredEvent& event) override;

 private:
  Heleket api_;
  std::string api_key_;
  std::vector<IpNetwork> networks_;  // empty: any source (the signature decides)
};

}  // namespace vpnbot::billing
