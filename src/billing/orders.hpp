#pragma once
#include <optional>
#include <string>
#include <vector>

#include "billing/groups.hpp"
#include "billing/money.hpp"
#include "billing/promo.hpp"
#include "billing/store.hpp"
#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::billing {

struct BillingOptions {
  int trial_days = 3;  // 0 = no trial
  int trial_device_limit = 1;
  Millis order_ttl{3600000};
  Millis receipt_waits_for_config{20000};        // for the first config to carry it as its caption, then it goes alone
  std::vector<int> referral_percents{10, 5, 2};  // per level
  int cashback_percent = 5;                      // points per purchase
  int referral_bonus_days = 3;                   // extra days on an invited user's first purchase
  Millis expiry_grace{0};                        // configs are switched off this long after expiry
};

struct Order {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t plan_id = 0;
  std::string provider;  // yookassa, heleket, cryptopay, stars, balance
  int64_t amount = 0;    // minor units of `currency`
  std::string currency;  // RUB, XTR
  int64_t value_rub = 0;
  int days = 0;
  int device_limit = 1;
  std::optional<int64_t> promo_id;
  int64_t discount_rub = 0;
  int bonus_days = 0;
  std::string state;
  std::optional<std::string> provider_payment_id, confirmation_url;
  std::string expires_at;                        // "YYYY-MM-DD HH:MM" UTC
  bool save_method = false;                      // the user agreed to save the card (YooKassa autopayments)
  std::optional<std::string> payment_method_id;  // an auto-renewal charged to this saved method
  bool gift = false;                             // paid for someone else: paying it issues a gift code
  int64_t group_discount_rub = 0;                // the promo group's part of discount_rub
  std::optional<int> traffic_gb;                 // a traffic top-up (days is 0): gigabytes added to the period
  std::optional<int64_t> status_message_id;      // the buyer's chat message showing the order's status
};

// What the confirmation screen shows before an order exists.
struct Quote {
  Plan plan;
  Price price;
  std::optional<PromoCode> promo;   // the applied code, when it applies to this plan
  std::optional<PromoGroup> group;  // the user's promo group (a personal discount), if any
  int bonus_days = 0;               // referral bonus on a first purchase
};

enum class PaymentResult {
  applied,          // the order is paid now, everything granted
  already_applied,  // a replay: nothing happened
  mismatch,         // amount or currency differs: flagged, nothing granted
  unknown_order,
  closed,  // refunded or flagged before: nothing granted
  // The order can no longer be honoured as it was promised (it expired and its promo code ran out meanwhile, or a
  // first-purchase code on a second purchase): the money went to the user's balance instead, nothing else granted.
  credited,
};
const char* to_string(PaymentResult r);

class PlanUnavailable : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Orders and the payment state machine. Every transition is a conditional UPDATE on a row locked FOR UPDATE,
// and every effect a row with a unique key, so replays and concurrent deliveries produce one effect.
class Orders {
 public:
  // A gift carries no referral bonus days: those are the buyer's first-purchase reward, not the recipient's.
  static awaitable<Quote> quote(db::Transaction& tx, int64_t user_id, int64_t plan_id, const BillingOptions& options,
                                bool gift = false);
  // Creates a pending order at the quoted price and reserves the promo use (if the code ran out meanwhile, the
  // order is made without it: `promo_dropped` tells the caller to say so).
  static awaitable<Order> create(db::Transaction& tx, int64_t user_id, int64_t plan_id, const std::string& provider,
                                 const BillingOptions& options, bool* promo_dropped = nullptr, bool gift = false);
  // A pending order for a traffic package, added to the current period of the user's subscription. Throws
  // PlanUnavailable when the package is gone or the subscription is not active with a traffic limit.
  static awaitable<Order> create_traffic(db::Transaction& tx, int64_t user_id, int64_t package_id,
                                         const std::string& provider, const BillingOptions& options);
  // The user's unpaid orders before a new one: the one for exactly this purchase (same plan or traffic package,
  // provider, gift and amount, not about to expire), which a second "pay" reuses instead of making another order
  // and provider invoice, and how many are unpaid in all (capped per user).
  struct Waiting {
    std::optional<Order> same;
    int64_t unpaid = 0;
  };
  static awaitable<Waiting> waiting(db::Transaction& tx, int64_t user_id, int64_t plan_id,
                                    std::optional<int> traffic_gb, const std::string& provider, bool gift,
                                    int64_t amount);
  static awaitable<std::optional<Order>> get(db::Transaction& tx, int64_t order_id);
  static awaitable<std::optional<Order>> by_provider_payment(db::Transaction& tx, const std::string& provider,
                                                             const std::string& payment_id);
  static awaitable<void> set_provider_payment(db::Transaction& tx, int64_t order_id, const std::string& payment_id,
                                              const std::string& confirmation_url);
  // Where the buyer watches the order (the message the payment link replaces).
  static awaitable<void> set_status_message(db::Transaction& tx, int64_t order_id, int64_t message_id);
  // The receipt is sent once: the order for the one caller that claims it (the receipt job, or the first config),
  // nullopt for every other. With `owner` (not 0), only that user's order can be claimed.
  static awaitable<std::optional<Order>> claim_receipt(db::Transaction& tx, int64_t order_id, int64_t owner = 0);
  // The order a provisioning or ledger reference ("order:<id>") belongs to.
  static std::optional<int64_t> of_reference(const std::string& reference);

  // The one place where money turns into access: order paid, subscription extended (or, for a gift, its code
  // issued; for a traffic package, the period's allowance raised), promo consumed, referral rewards and cashback in the
  // ledger, configs re-enabled, follow-up jobs (first config, receipt) enqueued. `allow_overpay` accepts amount >= the
  // order's (crypto "paid_over"); otherwise it must be equal.
  static awaitable<PaymentResult> apply_payment(db::Transaction& tx, int64_t order_id, const std::string& provider,
                                                const std::string& payment_id, int64_t amount,
                                                const std::string& currency, bool allow_overpay,
                                                const BillingOptions& options);
  // Pays a pending balance order: takes the money (only if the balance covers it) and applies the payment.
  static awaitable<PaymentResult> pay_from_balance(db::Transaction& tx, const Order& order,
                                                   const BillingOptions& options);
  // pending -> canceled/expired, giving the promo use back. False when not pending.
  static awaitable<bool> close(db::Transaction& tx, int64_t order_id, const std::string& state,
                               const std::string& note);
  // paid -> refunded: takes the days back (from whoever redeemed a gift; an open gift is revoked; a traffic
  // package's gigabytes), reverses
  // referral rewards and cashback, returns balance payments to the balance, disables configs if nothing is left.
  // False when not paid (a replay).
  static awaitable<bool> refund(db::Transaction& tx, int64_t order_id, const std::string& note);
  // Closes pending orders past their expiry (a bounded batch); returns how many.
  static awaitable<int64_t> expire_due(db::Transaction& tx, int limit);
  // Recent orders of a user (newest first) and orders in a state (keyset by id) for the admin.
  static awaitable<std::vector<Order>> list(db::Transaction& tx, std::optional<int64_t> user_id,
                                            std::optional<std::string> state, int64_t before_id, int limit);
};

}  // namespace vpnbot::billing
