#pragma once
#include <string>

#include "billing/provider.hpp"
#include "telegram/bot_api.hpp"

namespace vpnbot::billing {

// Telegram Stars: the invoice is a chat message the bot sends (sendInvoice, in the update's transaction) and the
// payment arrives as a successful_payment update, stored in payment_events like a notification and applied in
// that same update. What is left for the provider is the refund: refundStarPayment.
class StarsProvider : public PaymentProvider {
 public:
  explicit StarsProvider(telegram::BotApi* api) : PaymentProvider("stars"), api_(api) {}
  bool configured() const override { return api_ != nullptr; }
  bool can_refund() const override { return true; }
  // Already refunded (an earlier attempt whose answer was lost) counts as done; another 400 is a refusal.
  awaitable<void> refund(const Order& order) override;

 private:
  telegram::BotApi* api_;
};

}  // namespace vpnbot::billing
