#include "billing/orders.hpp"

#include <charconv>

#include "billing/access.hpp"
#include "billing/gifts.hpp"
#include "billing/ledger.hpp"
#include "billing/referral.hpp"
#include "billing/traffic_packages.hpp"
#include "core/log.hpp"
#include "jobs/queue.hpp"
#include "vpn/store.hpp"
#include "vpn/traffic.hpp"

namespace vpnbot::billing {
namespace {

constexpr const char* kOrderColumns =
    "id, user_id, plan_id, provider, amount, currency, value_rub, days, device_limit, promo_id, discount_rub, "
    "bonus_days, state, provider_payment_id, confirmation_url, "
    "to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), save_method, payment_method_id, gift, "
    "group_discount_rub, traffic_gb, status_message_id";

const db::RowMap kOrderRow{kOrderColumns,
                           &Order::id,
                           &Order::user_id,
                           &Order::plan_id,
                           &Order::provider,
                           &Order::amount,
                           &Order::currency,
                           &Order::value_rub,
                           &Order::days,
                           &Order::device_limit,
                           &Order::promo_id,
                           &Order::discount_rub,
                           &Order::bonus_days,
                           &Order::state,
                           &Order::provider_payment_id,
                           &Order::confirmation_url,
                           &Order::expires_at,
                           &Order::save_method,
                           &Order::payment_method_id,
                           &Order::gift,
                           &Order::group_discount_rub,
                           &Order::traffic_gb,
                           &Order::status_message_id};

std::string order_ref(int64_t order_id) {
  return "order:" + std::to_string(order_id);
}

// The payment of an order that cannot be honoured as promised becomes balance (its RUB value), once: the ledger
// entry's key is the order's, and the order leaves every state a payment applies to.
awaitable<void> credit_to_balance(db::Transaction& tx, const Order& order, const std::string& payment_id) {
  std::string note = "order " + std::to_string(order.id) + " could not be honoured as promised when paid";
  co_await tx.exec(
      "UPDATE orders SET state = 'credited', closed_at = now(), note = $3, "
      "provider_payment_id = coalesce(provider_payment_id, $2) WHERE id = $1",
      order.id, payment_id, note);
  LedgerEntry credit{order.user_id, "balance", order.value_rub, "late_payment", order_ref(order.id),
                     std::nullopt,  note};
  co_await Ledger::post(tx, credit);
  jobs::NewJob receipt;
  receipt.kind = "billing.receipt";
  receipt.payload = {{"order_id", order.id}};
  receipt.unique_key = order_ref(order.id);
  co_await jobs::Queue::enqueue(tx, receipt);
  log::warn("billing", "payment credited to the balance: the order could not be honoured as promised",
            {{"order_id", order.id}, {"user_id", order.user_id}, {"value_rub", order.value_rub}});
}

}  // namespace

const char* to_string(PaymentResult r) {
  switch (r) {
    case PaymentResult::applied:
      return "applied";
    case PaymentResult::already_applied:
      return "already_applied";
    case PaymentResult::mismatch:
      return "mismatch";
    case PaymentResult::unknown_order:
      return "unknown_order";
    case PaymentResult::closed:
      return "closed";
    case PaymentResult::credited:
      return "credited";
  }
  return "?";
}

awaitable<Quote> Orders::quote(db::Transaction& tx, int64_t user_id, int64_t plan_id, const BillingOptions& options,
                               bool gift) {
  auto plan = co_await Plans::get(tx, plan_id);
  auto promo = co_await Promos::applied(tx, user_id);
  if (promo && !promo->applies_to(plan_id)) promo.reset();
  bool first_purchase = !co_await has_paid_before(tx, user_id);
  if (promo && promo->first_purchase_only && !first_purchase) promo.reset();
  if (!plan || !plan->active || (plan->hidden && !(promo && promo->kind == "plan")))
    throw PlanUnavailable("plan " + std::to_string(plan_id) + " is not available");
  Quote q;
  q.plan = *plan;
  std::optional<PromoTerms> terms;
  if (promo) terms = promo->terms();
  q.group = co_await PromoGroups::of_user(tx, user_id);
  q.price = price_with_discounts(plan->price_rub, plan->price_stars, q.group ? q.group->plan_percent : 0, terms);
  q.promo = promo;
  if (first_purchase && !gift && options.referral_bonus_days > 0) {
    auto r = co_await tx.exec("SELECT referrer_id IS NOT NULL FROM users WHERE id = $1", user_id);
    if (!r.empty() && r.get<bool>(0, 0)) q.bonus_days = options.referral_bonus_days;
  }
  co_return q;
}

awaitable<Order> Orders::create(db::Transaction& tx, int64_t user_id, int64_t plan_id, const std::string& provider,
                                const BillingOptions& options, bool* promo_dropped, bool gift) {
  auto q = co_await quote(tx, user_id, plan_id, options, gift);
  bool stars = provider == "stars";
  auto insert = [&](const Price& price, std::optional<int64_t> promo_id) -> awaitable<Order> {
    auto r = co_await tx.exec(
        std::string(
            "INSERT INTO orders (user_id, plan_id, provider, amount, currency, value_rub, days, device_limit, "
            "promo_id, discount_rub, bonus_days, expires_at, gift, group_discount_rub) VALUES ($1, $2, $3, $4, $5, "
            "$6, $7, $8, $9, $10, $11, now() + make_interval(secs => $12::double precision / 1000), $13, "
            "$14) RETURNING ") +
            kOrderColumns,
        user_id, plan_id, provider, stars ? price.stars : price.rub, stars ? "XTR" : "RUB", price.rub, q.plan.days,
        q.plan.device_limit, promo_id, price.discount_rub, q.bonus_days, options.order_ttl.count(), gift,
        price.group_discount_rub);
    co_return kOrderRow.read(r, 0);
  };
  if (!q.promo) co_return co_await insert(q.price, std::nullopt);
  // The order id is needed for the reservation, and the reservation decides the price: insert, then reprice if
  // the code could not be reserved.
  Order order = co_await insert(q.price, q.promo->id);
  if (co_await Promos::reserve(tx, *q.promo, user_id, order.id)) co_return order;
  // Without the code the group's discount (if any) still applies.
  Price without_code =
      price_with_discounts(q.plan.price_rub, q.plan.price_stars, q.group ? q.group->plan_percent : 0, std::nullopt);
  auto r = co_await tx.exec(std::string("UPDATE orders SET amount = $2, value_rub = $3, discount_rub = $4, "
                                        "group_discount_rub = $4, promo_id = NULL WHERE id = $1 RETURNING ") +
                                kOrderColumns,
                            order.id, stars ? without_code.stars : without_code.rub, without_code.rub,
                            without_code.group_discount_rub);
  co_await Promos::detach(tx, user_id);
  if (promo_dropped) *promo_dropped = true;
  co_return kOrderRow.read(r, 0);
}

awaitable<Order> Orders::create_traffic(db::Transaction& tx, int64_t user_id, int64_t package_id,
                                        const std::string& provider, const BillingOptions& options) {
  auto package = co_await TrafficPackages::get(tx, package_id);
  if (!package || !package->active)
    throw PlanUnavailable("traffic package " + std::to_string(package_id) + " is not available");
  auto sub = co_await tx.exec(
      "SELECT plan_id, device_limit FROM subscriptions WHERE user_id = $1 AND expires_at > now() "
      "AND plan_id IS NOT NULL AND traffic_limit_bytes IS NOT NULL",
      user_id);
  if (sub.empty()) throw PlanUnavailable("no active subscription with a traffic limit to add traffic to");
  bool stars = provider == "stars";
  auto r = co_await tx.exec(
      std::string("INSERT INTO orders (user_id, plan_id, provider, amount, currency, value_rub, days, device_limit, "
                  "traffic_gb, expires_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, "
                  "now() + make_interval(secs => $9::double precision / 1000)) RETURNING ") +
          kOrderColumns,
      user_id, sub.get<int64_t>(0, 0), provider, stars ? package->price_stars : package->price_rub,
      stars ? "XTR" : "RUB", package->price_rub, sub.get<int64_t>(0, 1), package->gb, options.order_ttl.count());
  co_return kOrderRow.read(r, 0);
}

awaitable<Orders::Waiting> Orders::waiting(db::Transaction& tx, int64_t user_id, int64_t plan_id,
                                           std::optional<int> traffic_gb, const std::string& provider, bool gift,
                                           int64_t amount) {
  Waiting out;
  // An order about to expire is not offered again: its invoice could lapse while the user pays.
  auto r = co_await tx.exec(std::string("SELECT ") + kOrderColumns +
                                " FROM orders WHERE user_id = $1 AND state = 'pending' AND plan_id = $2 AND "
                                "traffic_gb IS NOT DISTINCT FROM $3 AND provider = $4 AND gift = $5 AND amount = $6 "
                                "AND payment_method_id IS NULL AND expires_at > now() + interval '2 minutes' "
                                "ORDER BY id DESC LIMIT 1",
                            user_id, plan_id, traffic_gb, provider, gift, amount);
  if (!r.empty()) out.same = kOrderRow.read(r, 0);
  out.unpaid = co_await tx.value<int64_t>(
      "SELECT count(*) FROM orders WHERE user_id = $1 AND state = 'pending' AND payment_method_id IS NULL", user_id);
  co_return out;
}

awaitable<std::optional<Order>> Orders::get(db::Transaction& tx, int64_t order_id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = $1", order_id);
  if (r.empty()) co_return std::nullopt;
  co_return kOrderRow.read(r, 0);
}

awaitable<std::optional<Order>> Orders::by_provider_payment(db::Transaction& tx, const std::string& provider,
                                                            const std::string& payment_id) {
  auto r = co_await tx.exec(
      std::string("SELECT ") + kOrderColumns + " FROM orders WHERE provider = $1 AND provider_payment_id = $2",
      provider, payment_id);
  if (r.empty()) co_return std::nullopt;
  co_return kOrderRow.read(r, 0);
}

awaitable<void> Orders::set_provider_payment(db::Transaction& tx, int64_t order_id, const std::string& payment_id,
                                             const std::string& confirmation_url) {
  co_await tx.exec(
      "UPDATE orders SET provider_payment_id = $2, confirmation_url = $3 WHERE id = $1 "
      "AND (provider_payment_id IS NULL OR provider_payment_id = $2)",
      order_id, payment_id, confirmation_url);
}

awaitable<void> Orders::set_status_message(db::Transaction& tx, int64_t order_id, int64_t message_id) {
  co_await tx.exec("UPDATE orders SET status_message_id = $2 WHERE id = $1", order_id, message_id);
}

awaitable<std::optional<Order>> Orders::claim_receipt(db::Transaction& tx, int64_t order_id, int64_t owner) {
  auto r =
      co_await tx.exec(std::string("UPDATE orders SET receipt_sent_at = now() WHERE id = $1 AND receipt_sent_at IS "
                                   "NULL AND ($2 = 0 OR user_id = $2) RETURNING ") +
                           kOrderColumns,
                       order_id, owner);
  if (r.empty()) co_return std::nullopt;
  co_return kOrderRow.read(r, 0);
}

std::optional<int64_t> Orders::of_reference(const std::string& reference) {
  static const std::string_view prefix = "order:";
  if (reference.rfind(prefix, 0) != 0) return std::nullopt;
  const char* first = reference.data() + prefix.size();
  const char* last = reference.data() + reference.size();
  int64_t id = 0;
  auto [end, error] = std::from_chars(first, last, id);
  if (error != std::errc() || end != last || id <= 0) return std::nullopt;
  return id;
}

awaitable<PaymentResult> Orders::apply_payment(db::Transaction& tx, int64_t order_id, const std::string& provider,
                                               const std::string& payment_id, int64_t amount,
                                               const std::string& currency, bool allow_overpay,
                                               const BillingOptions& options) {
  // The row lock makes concurrent deliveries of the same payment wait here; the second then sees 'paid'.
  auto r = co_await tx.exec(std::string("SELECT ") + kOrderColumns + " FROM orders WHERE id = $1 FOR UPDATE", order_id);
  if (r.empty()) {
    log::warn("billing", "payment for an unknown order", {{"order_id", order_id}, {"provider", provider}});
    co_return PaymentResult::unknown_order;
  }
  Order order = kOrderRow.read(r, 0);
  if (order.state == "paid" || order.state == "credited") co_return PaymentResult::already_applied;
  if (order.state == "refunded" || order.state == "mismatch") co_return PaymentResult::closed;
  bool amount_ok = allow_overpay ? amount >= order.amount : amount == order.amount;
  if (order.provider != provider || currency != order.currency || !amount_ok) {
    std::string note = "paid " + std::to_string(amount) + " " + currency + " via " + provider + " (payment " +
                       payment_id + "), expected " + std::to_string(order.amount) + " " + order.currency + " via " +
                       order.provider;
    co_await tx.exec(
        "UPDATE orders SET state = 'mismatch', note = $2, closed_at = now(), "
        "provider_payment_id = coalesce(provider_payment_id, $3) WHERE id = $1",
        order_id, note, payment_id);
    log::error("billing", "payment does not match its order: flagged for an admin, nothing granted",
               {{"order_id", order_id}, {"detail", note}});
    co_return PaymentResult::mismatch;
  }
  // Pending, or expired/canceled and paid anyway (a late payment): the money arrived. What the order promised on top
  // of the plan is checked again now, under the locks: a first purchase's referral bonus only on the first purchase
  // (two orders made before either was paid would each carry it), a promo code only within its limits (an expired
  // order gave its use back, and others may have taken it since). A code that no longer holds cannot be honoured
  // at the price paid: the money goes to the balance instead.
  bool first_purchase = !co_await has_paid_before(tx, order.user_id);
  if (order.promo_id && !co_await Promos::honour(tx, *order.promo_id, order.user_id, order_id, first_purchase)) {
    co_await credit_to_balance(tx, order, payment_id);
    co_return PaymentResult::credited;
  }
  if (order.bonus_days > 0 && !first_purchase) order.bonus_days = 0;
  co_await tx.exec(
      "UPDATE orders SET state = 'paid', paid_at = now(), closed_at = now(), bonus_days = $3, "
      "provider_payment_id = coalesce(provider_payment_id, $2) WHERE id = $1",
      order_id, payment_id, order.bonus_days);
  co_await Promos::consume(tx, order_id);
  std::string expires_at;  // for the log: the buyer's subscription, or nothing for a gift
  bool receipt_waits_for_config = false;
  if (order.traffic_gb) {
    co_await vpn::Traffic::add_extra(tx, order.user_id, *order.traffic_gb * vpn::kBytesPerGb);
    expires_at = "traffic +" + std::to_string(*order.traffic_gb) + " GB";
  } else if (order.gift) {
    auto gift = co_await Gifts::issue(tx, order);
    expires_at = "gift " + std::to_string(gift.id);
  } else {
    auto granted = co_await grant_paid_access(tx, order.user_id, order.days + order.bonus_days, order.device_limit,
                                              order.plan_id, order_ref(order_id));
    expires_at = granted.subscription.expires_at;
    receipt_waits_for_config = granted.delivers_config;
  }

  auto upline = co_await Referrals::upline(tx, order.user_id, static_cast<int>(options.referral_percents.size()));
  auto rewards = referral_rewards(order.value_rub, options.referral_percents);
  for (const auto& referrer : upline) {
    int64_t reward = rewards[referrer.level - 1];
    if (reward <= 0) continue;
    LedgerEntry entry{referrer.user_id,
                      "balance",
                      reward,
                      "referral",
                      order_ref(order_id) + ":" + std::to_string(referrer.level),
                      std::nullopt,
                      "level " + std::to_string(referrer.level) + " reward for order " + std::to_string(order_id)};
    co_await Ledger::post(tx, entry);
  }
  int64_t points = cashback_points(order.value_rub, options.cashback_percent);
  if (points > 0) {
    LedgerEntry cashback{order.user_id, "points", points, "cashback", order_ref(order_id), std::nullopt, ""};
    co_await Ledger::post(tx, cashback);
  }

  jobs::NewJob receipt;
  receipt.kind = "billing.receipt";
  receipt.payload = {{"order_id", order_id}};
  receipt.unique_key = order_ref(order_id);
  // The first config carries the receipt as its caption when it comes soon; only then does this one go out alone.
  if (receipt_waits_for_config) receipt.delay = options.receipt_waits_for_config;
  co_await jobs::Queue::enqueue(tx, receipt);
  log::info("billing", "payment applied",
            {{"order_id", order_id},
             {"user_id", order.user_id},
             {"provider", provider},
             {"amount", amount},
             {"currency", currency},
             {"expires_at", expires_at}});
  co_return PaymentResult::applied;
}

awaitable<PaymentResult> Orders::pay_from_balance(db::Transaction& tx, const Order& order,
                                                  const BillingOptions& options) {
  if (order.provider != "balance" || order.currency != "RUB") throw std::invalid_argument("not a balance order");
  // Named values only: g++ 12 mishandles string temporaries inside a co_await in a condition.
  std::string source = "purchase", reference = order_ref(order.id);
  bool spent = co_await Ledger::spend_balance(tx, order.user_id, order.amount, source, reference);
  if (!spent) co_return PaymentResult::closed;
  std::string provider = "balance", payment_id = "balance-" + std::to_string(order.id), currency = "RUB";
  auto result = co_await apply_payment(tx, order.id, provider, payment_id, order.amount, currency, false, options);
  co_return result;
}

awaitable<bool> Orders::close(db::Transaction& tx, int64_t order_id, const std::string& state,
                              const std::string& note) {
  auto r = co_await tx.exec(
      "UPDATE orders SET state = $2, note = NULLIF($3, ''), closed_at = now() WHERE id = $1 AND state = 'pending'",
      order_id, state, note);
  if (r.affected() == 0) co_return false;
  co_await Promos::release(tx, order_id);
  co_return true;
}

awaitable<bool> Orders::refund(db::Transaction& tx, int64_t order_id, const std::string& note) {
  auto before = co_await tx.exec("SELECT state FROM orders WHERE id = $1 FOR UPDATE", order_id);
  bool credited = !before.empty() && before.get<std::string>(0, 0) == "credited";
  auto r = co_await tx.exec(std::string("UPDATE orders SET state = 'refunded', note = $2, closed_at = now() "
                                        "WHERE id = $1 AND state IN ('paid', 'credited') RETURNING ") +
                                kOrderColumns,
                            order_id, note);
  if (r.empty()) co_return false;
  Order order = kOrderRow.read(r, 0);
  if (credited) {
    // Only the balance it became is taken back (what is left of it, if spent meanwhile).
    std::vector<std::string> sources{"late_payment"};
    co_await Ledger::reverse(tx, sources, order_ref(order_id));
  } else if (order.traffic_gb) {
    co_await vpn::Traffic::take_back_extra(tx, order.user_id, *order.traffic_gb * vpn::kBytesPerGb);
  } else if (order.gift) {
    co_await Gifts::revoke(tx, order_id);
  } else {
    auto sub = co_await Subscriptions::shorten(tx, order.user_id, order.days + order.bonus_days);
    if (sub && !sub->active) co_await vpn::VpnStore::set_user_peers_state(tx, order.user_id, "active", "disabled");
  }
  std::vector<std::string> sources{"referral", "cashback"};
  co_await Ledger::reverse(tx, sources, order_ref(order_id));
  if (order.provider == "balance") {
    LedgerEntry back{order.user_id, "balance", order.amount, "refund", order_ref(order_id), std::nullopt, note};
    co_await Ledger::post(tx, back);
  }
  log::info("billing", "order refunded", {{"order_id", order_id}, {"user_id", order.user_id}, {"note", note}});
  co_return true;
}

awaitable<int64_t> Orders::expire_due(db::Transaction& tx, int limit) {
  auto r = co_await tx.exec(R"sql(
WITH due AS (
  SELECT id FROM orders WHERE state = 'pending' AND expires_at < now() ORDER BY expires_at LIMIT $1
  FOR UPDATE SKIP LOCKED),
expired AS (
  UPDATE orders o SET state = 'expired', closed_at = now() FROM due WHERE o.id = due.id RETURNING o.id),
released AS (
  DELETE FROM promo_redemptions r USING expired e WHERE r.order_id = e.id AND r.state = 'reserved'
  RETURNING r.promo_id),
given_back AS (
  UPDATE promo_codes p SET uses = p.uses - c.n
  FROM (SELECT promo_id, count(*) AS n FROM released GROUP BY promo_id) c WHERE p.id = c.promo_id RETURNING 1)
SELECT (SELECT count(*) FROM expired), (SELECT count(*) FROM given_back))sql",
                            limit);
  co_return r.get<int64_t>(0, 0);
}

awaitable<std::vector<Order>> Orders::list(db::Transaction& tx, std::optional<int64_t> user_id,
                                           std::optional<std::string> state, int64_t before_id, int limit) {
  auto r = co_await tx.exec(std::string("SELECT ") + kOrderColumns +
                                " FROM orders WHERE ($1::bigint IS NULL OR user_id = $1) AND ($2::text IS NULL OR "
                                "state = $2) AND id < $3 ORDER BY id DESC LIMIT $4",
                            user_id, state, before_id, limit);
  co_return kOrderRow.read_all(r);
}

}  // namespace vpnbot::billing
