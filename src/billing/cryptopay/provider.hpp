#pragma once
#include <string>

#include "billing/cryptopay/api.hpp"
#include "billing/cryptopay/settings.hpp"
#include "billing/provider.hpp"

namespace vpnbot::billing {

inline constexpr const char* kCryptoPayWebhookPath = "/payments/cryptopay";

// Crypto through Crypto Pay (@CryptoBot): an invoice in roubles per order with the order as payload; webhooks
// (invoice_paid) signed with the app token, and the invoice read back with getInvoices before anything is granted.
class CryptoPayProvider : public PaymentProvider {
 public:
  CryptoPayProvider(http::Client& client, const CryptoPaySettings& settings, int invoice_lifetime_s);
  bool configured() const override { return api_.configured(); }
  NoticeCheck accept(const std::string& source_ip, const http::Request& request) const override;
  // createInvoice is not idempotent: a retry first looks for the order's live invoice (by payload) and reuses it.
  awaitable<CreatedPayment> create_payment(const Order& order, bool retry) override;
  awaitable<Verdict> verify(const StoredEvent& event) override;

 private:
  CryptoPay api_;
  std::string token_;
};

}  // namespace vpnbot::billing
