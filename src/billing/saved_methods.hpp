#pragma once
#include <optional>
#include <string>

#include "billing/orders.hpp"
#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::billing {

// A payment method the provider saved for charges without the user (YooKassa autopayments): one per user.
struct SavedMethod {
  int64_t user_id = 0;
  std::string provider, method_id, title;
};

// Why an auto-renewal order is not to be charged; with fall_back_to_balance the bot tries the balance instead.
struct ChargeObstacle {
  std::string reason;
  bool fall_back_to_balance = false;
};

// The SQL of saved_payment_methods and of the auto-renewal orders charged to them.
class SavedMethods {
 public:
  static awaitable<std::optional<SavedMethod>> get(db::Transaction& tx, int64_t user_id);
  // The user agreed at checkout to save the card this order is paid with.
  static awaitable<void> consent_at_checkout(db::Transaction& tx, int64_t order_id);
  // Remembers the method a verified payment of `order_id` saved (replacing an older one) and turns auto-renewal on:
  // saving the card is what the user agreed to for auto-renewal.
  static awaitable<void> remember(db::Transaction& tx, int64_t order_id, const SavedMethod& method);
  // The user's "remove card". False when there was none.
  static awaitable<bool> forget(db::Transaction& tx, int64_t user_id);
  // The provider will never charge this method again (permission revoked, card expired).
  static awaitable<void> forget_method(db::Transaction& tx, const std::string& provider, const std::string& method_id);
  // The auto-renewal order for the subscription's current expiry, charged to the saved method by the
  // billing.charge_saved_method job enqueued with it. nullopt when this expiry already has one (a unique index
  // backs this up, whatever races).
  static awaitable<std::optional<Order>> create_renewal(db::Transaction& tx, const SavedMethod& method, int64_t plan_id,
                                                        const BillingOptions& options);
  // Whether the order may still be charged: pending, its method still saved, auto-renewal still on and the
  // subscription still at the expiry the order renews (not renewed some other way meanwhile). nullopt when it may.
  static awaitable<std::optional<ChargeObstacle>> obstacle_to_charge(db::Transaction& tx, const Order& order);
};

}  // namespace vpnbot::billing
