#pragma once
// The checkout use case of the shop core: a plan (for oneself or as a gift) or a traffic package, paid with one of
// the offered methods. Every rule is decided here (the method offered, the price, the balance, the same purchase
// already waiting, the cap on unpaid orders, the hourly checkout budget), so a front end (the bot, the cabinet)
// only turns the outcome into its own words and, for Stars, its own invoice.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "billing/orders.hpp"
#include "budgets/budgets.hpp"
#include "db/pool.hpp"

namespace vpnbot::shop {

// What the operator configured for selling.
struct SellingRules {
  billing::BillingOptions billing;
  std::vector<std::string> payment_methods;  // offered: yookassa, heleket, cryptopay, stars, balance
  bool save_cards = false;                   // YooKassa autopayments may be offered
  budgets::Settings budgets;
};

struct PlanPurchase {
  int64_t plan_id = 0;
  std::string provider;
  bool gift = false;
  bool save_card = false;  // the user ticked "save the card" (honoured only where offered)
};

struct TrafficPurchase {
  int64_t package_id = 0;
  std::string provider;
};

enum class CheckoutOutcome {
  started,               // `order` made; `payment` says how it is paid
  not_offered,           // the method is not offered (an old button)
  unavailable,           // the plan or package cannot be bought (gone, no subscription it applies to)
  insufficient_balance,  // paying from the balance, which is below `amount`
  already_waiting,       // the same purchase waits for payment: `waiting` is its order
  too_many_unpaid,       // `unpaid` orders wait already, the cap
  over_budget,           // the user's checkouts of this window are spent: `retry_after_s`, `tell` (first time)
};

enum class PaymentStart {
  paid_from_balance,  // paid now: access granted in this transaction
  stars_invoice,      // the front end sends a Telegram Stars invoice for the order
  provider_link,      // a job asks the provider for a payment link and tells the user
};

struct Checkout {
  CheckoutOutcome outcome = CheckoutOutcome::unavailable;
  std::optional<billing::Order> order;  // started
  std::optional<billing::Quote> quote;  // a plan's quote (when it could be made)
  PaymentStart payment = PaymentStart::provider_link;
  bool promo_dropped = false;             // the code ran out between the quote and the order
  int64_t balance = 0, amount = 0;        // insufficient_balance (kopecks)
  std::optional<billing::Order> waiting;  // already_waiting
  int64_t unpaid = 0;                     // too_many_unpaid
  int retry_after_s = 0;                  // over_budget
  bool tell = true;                       // over_budget: false after the first refusal of the window
};

// Whether paying a plan with `provider` may save the card for the buyer's renewals (a front end offers the choice
// only then; buy_plan honours a ticked choice only then).
bool may_save_card(const SellingRules& rules, std::string_view provider, bool gift);

// Buys a plan for `user_id` (the caller's authenticated user; nobody else's order can come of it). Arguments are taken
// by value: the coroutine may start after the caller's temporaries are gone.
awaitable<Checkout> buy_plan(db::Transaction& tx, const SellingRules& rules, int64_t user_id, PlanPurchase purchase);
// Buys a traffic package for the current period of `user_id`'s subscription.
awaitable<Checkout> buy_traffic(db::Transaction& tx, const SellingRules& rules, int64_t user_id,
                                TrafficPurchase purchase);

}  // namespace vpnbot::shop
