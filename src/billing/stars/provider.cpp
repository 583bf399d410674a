#include "billing/stars/provider.hpp"

namespace vpnbot::billing {

awaitable<void> StarsProvider::refund(const Order& order) {
  if (!order.provider_payment_id) throw ProviderError("order " + std::to_string(order.id) + " has no charge", 0, false);
  std::string refused;
  try {
    co_await api_->refund_star_payment(order.user_id, *order.provider_payment_id);
  } catch (const telegram::ApiError& e) {
    if (e.description().find("CHARGE_ALREADY_REFUNDED") == std::string::npos) {
      if (e.code() != 400) throw;
      refused = e.description();
    }
  }
  if (!refused.empty()) throw ProviderError("refundStarPayment refused: " + refused, 400, false);
}

}  // namespace vpnbot::billing
