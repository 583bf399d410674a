#pragma once
#include <string>
#include <vector>

#include "billing/provider.hpp"
#include "billing/yookassa/api.hpp"
#include "billing/yookassa/settings.hpp"
#include "core/ip_network.hpp"

namespace vpnbot::billing {

inline constexpr const char* kYooKassaWebhookPath = "/payments/yookassa";

// Bank cards and SBP through YooKassa: a redirect payment per order (Idempotence-Key per order), unsigned
// notifications accepted only from YooKassa's networks and never believed: the payment or refund is read back by API.
// Cancellation reasons after which a saved method can never be charged again
// (https://yookassa.ru/developers/payment-acceptance/after-the-payment/declined-payments).
bool yookassa_method_unusable(const std::string& cancellation_reason);

class YooKassaProvider : public PaymentProvider {
 public:
  // `default_return_url`: where the checkout sends the user back when yookassa_return_url is not set.
  YooKassaProvider(http::Client& client, const YooKassaSettings& settings, const std::string& default_return_url);
  bool configured() const override { return api_.configured(); }
  NoticeCheck accept(const std::string& source_ip, const http::Request& request) const override;
  // Idempotence-Key per order: YooKassa itself answers a retry with the same payment.
  awaitable<CreatedPayment> create_payment(const Order& order, bool retry) override;
  awaitable<Verdict> verify(const StoredEvent& event) override;
  // Autopayments, when the shop has them (yookassa_save_cards): the checkout may save the card, renewals charge it.
  bool can_charge_saved_method() const override { return save_cards_; }
  awaitable<AcceptedNotice> charge_saved_method(const Order& order) override;
  YooKassa& api() { return api_; }

 private:
  YooKassa api_;
  std::vector<IpNetwork> networks_;
  bool save_cards_ = false;
};

}  // namespace vpnbot::billing
