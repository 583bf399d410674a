#include "shop/checkout.hpp"

#include <algorithm>

#include "billing/jobs.hpp"
#include "billing/ledger.hpp"
#include "billing/saved_methods.hpp"
#include "billing/store.hpp"
#include "billing/traffic_packages.hpp"

namespace vpnbot::shop {
namespace {

bool offered(const SellingRules& rules, const std::string& provider) {
  return std::find(rules.payment_methods.begin(), rules.payment_methods.end(), provider) != rules.payment_methods.end();
}

// Paying from the balance needs the whole amount there (checked again, under lock, when it is taken).
awaitable<bool> balance_covers(db::Transaction& tx, int64_t user_id, int64_t amount, Checkout& checkout) {
  auto totals = co_await billing::Ledger::totals(tx, user_id);
  if (totals.balance >= amount) co_return true;
  checkout.outcome = CheckoutOutcome::insufficient_balance;
  checkout.balance = totals.balance;
  checkout.amount = amount;
  co_return false;
}

// Before a new order: the same purchase already waiting for payment is shown again instead of a second invoice,
// the unpaid orders are capped, and checkouts spend the user's budget.
awaitable<bool> may_order(db::Transaction& tx, const SellingRules& rules, int64_t user_id, int64_t plan_id,
                          std::optional<int> traffic_gb, const std::string& provider, bool gift, int64_t amount,
                          Checkout& checkout) {
  auto waiting = co_await billing::Orders::waiting(tx, user_id, plan_id, traffic_gb, provider, gift, amount);
  if (waiting.same) {
    checkout.outcome = CheckoutOutcome::already_waiting;
    checkout.waiting = std::move(waiting.same);
    co_return false;
  }
  if (waiting.unpaid >= rules.budgets.pending_orders) {
    checkout.outcome = CheckoutOutcome::too_many_unpaid;
    checkout.unpaid = waiting.unpaid;
    co_return false;
  }
  auto spent = co_await budgets::spend(tx, user_id, budgets::Kind::checkouts, rules.budgets);
  if (spent.allowed) co_return true;
  checkout.outcome = CheckoutOutcome::over_budget;
  checkout.retry_after_s = spent.retry_after_s;
  checkout.tell = spent.tell;
  co_return false;
}

// Starts paying the new order the way its provider takes money.
awaitable<void> start_payment(db::Transaction& tx, const SellingRules& rules, Checkout& checkout) {
  const auto& order = *checkout.order;
  checkout.outcome = CheckoutOutcome::started;
  if (order.provider == "balance") {
    auto result = co_await billing::Orders::pay_from_balance(tx, order, rules.billing);
    if (result != billing::PaymentResult::applied)
      throw std::runtime_error("balance payment of order " + std::to_string(order.id) + ": " +
                               billing::to_string(result));
    checkout.payment = PaymentStart::paid_from_balance;
  } else if (order.provider == "stars") {
    checkout.payment = PaymentStart::stars_invoice;
  } else {
    co_await billing::enqueue_create_payment(tx, order.id);
    checkout.payment = PaymentStart::provider_link;
  }
}

}  // namespace

bool may_save_card(const SellingRules& rules, std::string_view provider, bool gift) {
  // Saving the card is the buyer's explicit choice, for their own renewals only.
  return rules.save_cards && provider == "yookassa" && !gift;
}

awaitable<Checkout> buy_plan(db::Transaction& tx, const SellingRules& rules, int64_t user_id, PlanPurchase purchase) {
  Checkout checkout;
  if (!offered(rules, purchase.provider)) {
    checkout.outcome = CheckoutOutcome::not_offered;
    co_return checkout;
  }
  try {
    checkout.quote = co_await billing::Orders::quote(tx, user_id, purchase.plan_id, rules.billing, purchase.gift);
  } catch (const billing::PlanUnavailable&) {
    co_return checkout;  // unavailable
  }
  const auto& price = checkout.quote->price;
  if (purchase.provider == "balance") {
    bool covered = co_await balance_covers(tx, user_id, price.rub, checkout);  // named: g++ 12 and co_await
    if (!covered) co_return checkout;
  }
  int64_t amount = purchase.provider == "stars" ? price.stars : price.rub;
  bool go_ahead = co_await may_order(tx, rules, user_id, purchase.plan_id, std::nullopt, purchase.provider,
                                     purchase.gift, amount, checkout);
  if (!go_ahead) co_return checkout;
  checkout.order = co_await billing::Orders::create(tx, user_id, purchase.plan_id, purchase.provider, rules.billing,
                                                    &checkout.promo_dropped, purchase.gift);
  if (purchase.save_card && may_save_card(rules, purchase.provider, purchase.gift))
    co_await billing::SavedMethods::consent_at_checkout(tx, checkout.order->id);
  co_await start_payment(tx, rules, checkout);
  co_return checkout;
}

awaitable<Checkout> buy_traffic(db::Transaction& tx, const SellingRules& rules, int64_t user_id,
                                TrafficPurchase purchase) {
  Checkout checkout;
  if (!offered(rules, purchase.provider)) {
    checkout.outcome = CheckoutOutcome::not_offered;
    co_return checkout;
  }
  auto package = co_await billing::TrafficPackages::get(tx, purchase.package_id);
  if (package && purchase.provider == "balance") {
    bool covered = co_await balance_covers(tx, user_id, package->price_rub, checkout);
    if (!covered) co_return checkout;
  }
  auto subscription = co_await billing::Subscriptions::get(tx, user_id);
  if (package && subscription && subscription->plan_id) {
    int64_t amount = purchase.provider == "stars" ? package->price_stars : package->price_rub;
    bool go_ahead = co_await may_order(tx, rules, user_id, *subscription->plan_id, package->gb, purchase.provider,
                                       false, amount, checkout);
    if (!go_ahead) co_return checkout;
  }
  try {
    checkout.order =
        co_await billing::Orders::create_traffic(tx, user_id, purchase.package_id, purchase.provider, rules.billing);
  } catch (const billing::PlanUnavailable&) {
    co_return checkout;  // unavailable: no such package, or no active limited subscription to add it to
  }
  co_await start_payment(tx, rules, checkout);
  co_return checkout;
}

}  // namespace vpnbot::shop
