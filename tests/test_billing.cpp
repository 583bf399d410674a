// Billing against a real PostgreSQL: the payment state machine under replays and concurrency, promo limits under
// races, the referral upline in one query, refunds, trials, order expiry, and ledger consistency.
#include <gtest/gtest.h>

#include "billing/gifts.hpp"
#include "billing/groups.hpp"
#include "billing/ledger.hpp"
#include "billing/orders.hpp"
#include "billing/promo.hpp"
#include "billing/referral.hpp"
#include "billing/store.hpp"
#include "billing/traffic_packages.hpp"
#include "budgets/budgets.hpp"
#include "shop/account.hpp"
#include "shop/checkout.hpp"
#include "shop/configs.hpp"
#include "shop/tickets.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"
#include "support/test_node.hpp"
#include "vpn/traffic.hpp"

using namespace vpnbot;
using namespace vpnbot::billing;
using vpnbot::testing::AsyncDbTest;

class BillingTest : public AsyncDbTest {
 protected:
  void SetUp() override {
    AsyncDbTest::SetUp();
    pool = make_pool(16);
  }
  void add_user(int64_t id, std::optional<int64_t> referrer = std::nullopt) {
    vpnbot::testing::exec_sync(url, "INSERT INTO users (id, referral_code, referrer_id) VALUES (" + std::to_string(id) +
                                        ", 'r" + std::to_string(id) + "', " +
                                        (referrer ? std::to_string(*referrer) : "NULL") + ")");
  }
  template <typename T, typename F>
  T tx(F body) {
    return run(pool->transaction([&](db::Transaction& t) -> awaitable<T> { co_return co_await body(t); }));
  }
  // A WireGuard node ("n1") and the store that provisions on it.
  vpn::VpnStore& wireguard_node() {
    node_box = vpn::SecretBox::from_file(vpnbot::testing::test_master_key_file(), false);
    node_store.emplace(*pool, *node_box);
    vpn::NodeSpec spec = vpnbot::testing::test_node("n1", "10.9.0.0/24", "DE", "Frankfurt");
    run(node_store->add_node(spec));
    return *node_store;
  }
  std::optional<vpn::SecretBox> node_box;
  std::optional<vpn::VpnStore> node_store;
  int64_t plan_id(const std::string& code) { return count("SELECT id FROM plans WHERE code = '" + code + "'"); }
  Order new_order(int64_t user, const std::string& provider = "yookassa", const std::string& plan = "month",
                  bool gift = false) {
    int64_t id = plan_id(plan);
    return tx<Order>([&](db::Transaction& t) { return Orders::create(t, user, id, provider, options, nullptr, gift); });
  }
  // Runs `body(i)` for i in [0, n) on concurrent transactions and returns each result.
  template <typename T, typename F>
  std::vector<T> concurrently(int n, F body) {
    std::vector<T> out(static_cast<size_t>(n));
    int pending = n;
    for (int i = 0; i < n; ++i)
      asio::co_spawn(
          io, pool->transaction([&body, i](db::Transaction& t) -> awaitable<T> { co_return co_await body(t, i); }),
          [&out, &pending, i](std::exception_ptr e, T r) {
            if (e) std::rethrow_exception(e);
            out[static_cast<size_t>(i)] = std::move(r);
            --pending;
          });
    run([&]() -> awaitable<void> {
      while (pending > 0) co_await sleep_for(Millis(10));
    }());
    return out;
  }
  // A promo code of `kind` (percent, fixed, balance, days) with `value` and at most `max_uses` uses.
  PromoCode create_code(const std::string& code, const std::string& kind, int64_t value, int max_uses) {
    NewPromo p;
    p.code = code;
    p.kind = kind;
    p.value = value;
    p.max_uses = max_uses;
    return tx<PromoCode>([&](db::Transaction& t) { return Promos::create(t, p); });
  }
  PaymentResult pay(const Order& o, std::optional<int64_t> amount = std::nullopt) {
    // A coroutine lambda: a temporary passed straight to a lazily started coroutine would dangle.
    return tx<PaymentResult>([&](db::Transaction& t) -> awaitable<PaymentResult> {
      co_return co_await Orders::apply_payment(t, o.id, o.provider, "pay-" + std::to_string(o.id),
                                               amount.value_or(o.amount), o.currency, false, options);
    });
  }
  double days_left(int64_t user) {
    return std::stod(vpnbot::testing::query_value_sync(
        url, "SELECT extract(epoch FROM expires_at - now()) / 86400 FROM subscriptions WHERE user_id = " +
                 std::to_string(user)));
  }
  // Every total equals the sum of its ledger entries.
  void expect_ledger_consistent() {
    EXPECT_EQ(count("SELECT count(*) FROM accounts a WHERE balance <> (SELECT coalesce(sum(amount), 0) FROM ledger l "
                    "WHERE l.user_id = a.user_id AND account = 'balance') OR points <> (SELECT coalesce(sum(amount), "
                    "0) FROM ledger l WHERE l.user_id = a.user_id AND account = 'points')"),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM (SELECT DISTINCT user_id FROM ledger) u WHERE NOT EXISTS "
                    "(SELECT 1 FROM accounts a WHERE a.user_id = u.user_id)"),
              0);
  }

  std::unique_ptr<db::Pool> pool;
  BillingOptions options;
};

TEST_F(BillingTest, RenewalBeforeExpiryAddsToTheRemainingTime) {
  add_user(1);
  tx<Subscription>([&](db::Transaction& t) { return Subscriptions::extend(t, 1, 10, 1, std::nullopt, false); });
  EXPECT_NEAR(days_left(1), 10, 0.01);
  auto o = new_order(1);
  EXPECT_EQ(o.amount, 19900);
  EXPECT_EQ(o.currency, "RUB");
  EXPECT_EQ(pay(o), PaymentResult::applied);
  EXPECT_NEAR(days_left(1), 40, 0.01) << "30 days added to the 10 left, not from today";
  EXPECT_EQ(count("SELECT device_limit FROM subscriptions WHERE user_id = 1"), 3) << "the plan's device limit applies";
  // After expiry a renewal starts from now: nothing is added to a date in the past.
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET expires_at = now() - interval '5 days' WHERE user_id = 1");
  EXPECT_EQ(pay(new_order(1)), PaymentResult::applied);
  EXPECT_NEAR(days_left(1), 30, 0.01);
}

// A first purchase's receipt waits for the config that carries it as its caption (or goes alone past the wait), and
// whoever sends it claims it, once, however many try at the same time.
TEST_F(BillingTest, AReceiptWaitsForTheFirstConfigAndIsClaimedOnce) {
  add_user(1);
  auto first = new_order(1);
  EXPECT_EQ(pay(first), PaymentResult::applied);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.provision' AND unique_key = 'order:" +
                  std::to_string(first.id) + "'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'billing.receipt' AND run_at > now() + interval '15 s'"), 1)
      << "the first config is on its way: the receipt waits for it";
  auto claim = [&](db::Transaction& t, int64_t owner) -> awaitable<bool> {
    auto claimed = co_await Orders::claim_receipt(t, first.id, owner);
    co_return claimed.has_value();
  };
  auto others = concurrently<bool>(5, [&](db::Transaction& t, int) { return claim(t, first.user_id + 1); });
  EXPECT_EQ(std::count(others.begin(), others.end(), true), 0) << "another user's config never carries the receipt";
  auto claims = concurrently<bool>(10, [&](db::Transaction& t, int i) { return claim(t, i % 2 ? first.user_id : 0); });
  EXPECT_EQ(std::count(claims.begin(), claims.end(), true), 1);
  EXPECT_EQ(Orders::of_reference("order:" + std::to_string(first.id)), first.id);
  for (const char* forged : {"order:", "order:-1", "order:1x", "gift:1", "order:99999999999999999999", "order:0"})
    EXPECT_EQ(Orders::of_reference(forged), std::nullopt) << forged;
}

TEST_F(BillingTest, ReplayedAndConcurrentPaymentsApplyExactlyOnce) {
  constexpr int kOrders = 40, kCopies = 10;
  std::vector<Order> orders;
  for (int i = 0; i < kOrders; ++i) {
    add_user(100 + i);
    orders.push_back(new_order(100 + i, i % 2 ? "heleket" : "yookassa"));
  }
  // Every order's payment arrives kCopies times at once, on concurrent transactions (16 connections).
  std::map<PaymentResult, int> results;
  int pending = 0;
  for (int copy = 0; copy < kCopies; ++copy)
    for (const auto& o : orders) {
      ++pending;
      asio::co_spawn(io, pool->transaction([&, o](db::Transaction& t) -> awaitable<PaymentResult> {
        co_return co_await Orders::apply_payment(t, o.id, o.provider, "pay-" + std::to_string(o.id), o.amount,
                                                 o.currency, false, options);
      }),
                     [&](std::exception_ptr e, PaymentResult r) {
                       if (e) std::rethrow_exception(e);
                       ++results[r];
                       --pending;
                     });
    }
  run([&]() -> awaitable<void> {
    while (pending > 0) co_await sleep_for(Millis(10));
  }());
  EXPECT_EQ(results[PaymentResult::applied], kOrders);
  EXPECT_EQ(results[PaymentResult::already_applied], kOrders * (kCopies - 1));
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE state = 'paid'"), kOrders);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE expires_at BETWEEN now() + interval '29.9 days' AND "
                  "now() + interval '30.1 days'"),
            kOrders)
      << "each subscription extended once";
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE source = 'cashback'"), kOrders);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'billing.receipt'"), kOrders);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.provision'"), kOrders);
  expect_ledger_consistent();
}

TEST_F(BillingTest, AmountOrCurrencyMismatchGrantsNothing) {
  add_user(1);
  auto o = new_order(1);
  EXPECT_EQ(pay(o, o.amount - 1), PaymentResult::mismatch);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE state = 'mismatch' AND note LIKE '%expected 19900 RUB%'"), 1);
  EXPECT_EQ(pay(o), PaymentResult::closed) << "a flagged order stays for the admin";
  auto other = new_order(1);
  auto wrong_currency = tx<PaymentResult>([&](db::Transaction& t) -> awaitable<PaymentResult> {
    co_return co_await Orders::apply_payment(t, other.id, "yookassa", "x", other.amount, "XTR", false, options);
  });
  EXPECT_EQ(wrong_currency, PaymentResult::mismatch);
  auto wrong_provider = new_order(1);
  auto via_stars = tx<PaymentResult>([&](db::Transaction& t) -> awaitable<PaymentResult> {
    co_return co_await Orders::apply_payment(t, wrong_provider.id, "stars", "y", wrong_provider.amount, "RUB", false,
                                             options);
  });
  EXPECT_EQ(via_stars, PaymentResult::mismatch);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM ledger"), 0);
  // Crypto may arrive overpaid ("paid_over"): accepted when allowed.
  auto crypto = new_order(1, "heleket");
  auto over = tx<PaymentResult>([&](db::Transaction& t) -> awaitable<PaymentResult> {
    co_return co_await Orders::apply_payment(t, crypto.id, "heleket", "z", crypto.amount + 500, "RUB", true, options);
  });
  EXPECT_EQ(over, PaymentResult::applied);
}

TEST_F(BillingTest, PromoWithTenUsesSurvivesHundredConcurrentRedemptions) {
  create_code("GIFT", "balance", 5000, 10);
  for (int i = 0; i < 100; ++i) add_user(1000 + i);
  std::map<PromoStatus, int> outcomes;
  for (auto status : concurrently<PromoStatus>(100, [](db::Transaction&t, int i) -> awaitable<PromoStatus> {
         co_return (co_await Promos::enter(t, 1000 + i, "gift", 1)).status;
       }))
    ++outcomes[status];
  EXPECT_EQ(outcomes[PromoStatus::credited_balance], 10);
  EXPECT_EQ(outcomes[PromoStatus::exhausted], 90);
  EXPECT_EQ(count("SELECT uses FROM promo_codes WHERE code = 'GIFT'"), 10);
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE source = 'promo'"), 10);
  EXPECT_EQ(count("SELECT sum(balance) FROM accounts"), 10 * 5000);
  // The same user twice: max_per_user = 1.
  auto again = tx<PromoOutcome>([&](db::Transaction& t) { return Promos::enter(t, 1000, "GIFT", 1); });
  EXPECT_NE(again.status, PromoStatus::credited_balance);
  expect_ledger_consistent();
}

TEST_F(BillingTest, DiscountCodeReservationsNeverOversell) {
  create_code("SALE20", "percent", 20, 10);
  int64_t month = plan_id("month");
  for (int i = 0; i < 60; ++i) {
    add_user(2000 + i);
    auto s = tx<PromoOutcome>([&](db::Transaction& t) { return Promos::enter(t, 2000 + i, "SALE20", 1); }).status;
    ASSERT_EQ(s, PromoStatus::applied) << "applying does not count a use";
  }
  std::vector<Order> created;
  int pending = 0;
  for (int i = 0; i < 60; ++i) {
    ++pending;
    int64_t user = 2000 + i;
    asio::co_spawn(io, pool->transaction([this, user, month](db::Transaction& t) -> awaitable<Order> {
      co_return co_await Orders::create(t, user, month, "yookassa", options);
    }),
                   [&](std::exception_ptr e, Order o) {
                     if (e) std::rethrow_exception(e);
                     created.push_back(o);
                     --pending;
                   });
  }
  run([&]() -> awaitable<void> {
    while (pending > 0) co_await sleep_for(Millis(10));
  }());
  int discounted = 0;
  for (const auto& o : created) {
    if (o.promo_id) {
      ++discounted;
      EXPECT_EQ(o.amount, 15920);
    } else {
      EXPECT_EQ(o.amount, 19900) << "full price once the code ran out";
    }
  }
  EXPECT_EQ(discounted, 10);
  EXPECT_EQ(count("SELECT uses FROM promo_codes WHERE code = 'SALE20'"), 10);
  // Abandoned discounted orders give their uses back when they expire.
  vpnbot::testing::exec_sync(url,
                             "UPDATE orders SET expires_at = now() - interval '1 minute' WHERE promo_id IS NOT NULL");
  auto expired = tx<int64_t>([](db::Transaction& t) { return Orders::expire_due(t, 500); });
  EXPECT_EQ(expired, 10);
  EXPECT_EQ(count("SELECT uses FROM promo_codes WHERE code = 'SALE20'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM promo_redemptions WHERE state = 'reserved'"), 0);
  // A payment that arrives after expiry is still honoured: the money came, so access is granted.
  auto late = created.front();
  for (const auto& o : created)
    if (o.promo_id) late = o;
  EXPECT_EQ(pay(late), PaymentResult::applied);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id = " + std::to_string(late.user_id)), 1);
}

// What an order promised beyond its plan is checked again when its money arrives: an expired order whose promo use
// was taken by someone else meanwhile is credited to the balance (once, refundable), not granted at the discount;
// a first purchase's referral bonus goes to one purchase only, however many orders were made before the first paid.
TEST_F(BillingTest, LatePaymentsAreCheckedAgainAgainstTheirCodeAndBonusOrCreditedToTheBalance) {
  options.referral_bonus_days = 7;
  create_code("ONCE", "percent", 20, 1);
  add_user(1);
  add_user(2, 1);
  add_user(3);
  auto enter = [&](int64_t user) {
    return tx<PromoOutcome>([&](db::Transaction& t) { return Promos::enter(t, user, "ONCE", 1); }).status;
  };
  ASSERT_EQ(enter(2), PromoStatus::applied);
  auto late = new_order(2);
  ASSERT_TRUE(late.promo_id);
  EXPECT_EQ(late.bonus_days, 7);
  auto second = new_order(2);
  auto third = new_order(2);
  EXPECT_FALSE(second.promo_id);
  EXPECT_EQ(second.bonus_days, 7) << "made before any purchase was paid";
  EXPECT_EQ(third.bonus_days, 7);
  vpnbot::testing::exec_sync(
      url, "UPDATE orders SET expires_at = now() - interval '1 minute' WHERE id = " + std::to_string(late.id));
  EXPECT_EQ(tx<int64_t>([](db::Transaction& t) { return Orders::expire_due(t, 10); }), 1);
  EXPECT_EQ(count("SELECT uses FROM promo_codes WHERE code = 'ONCE'"), 0) << "the expired order gave its use back";
  ASSERT_EQ(enter(3), PromoStatus::applied);
  EXPECT_EQ(pay(new_order(3)), PaymentResult::applied) << "user 3 takes the code's only use";

  EXPECT_EQ(pay(late), PaymentResult::credited);
  EXPECT_EQ(pay(late), PaymentResult::already_applied) << "a redelivery";
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 2"), late.value_rub);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id = 2"), 0) << "nothing granted at the discount";
  EXPECT_EQ(count("SELECT uses FROM promo_codes WHERE code = 'ONCE'"), 1) << "never beyond max_uses";
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE state = 'credited' AND paid_at IS NULL"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'billing.receipt' AND unique_key = 'order:" +
                  std::to_string(late.id) + "'"),
            1)
      << "the user is told";
  EXPECT_EQ(count("SELECT coalesce((SELECT balance FROM accounts WHERE user_id = 1), 0)"), 0)
      << "no referral reward for a credit";

  EXPECT_EQ(pay(second), PaymentResult::applied);
  EXPECT_NEAR(days_left(2), 37, 0.01) << "the first paid purchase carries the bonus";
  EXPECT_EQ(pay(third), PaymentResult::applied);
  EXPECT_NEAR(days_left(2), 67, 0.01) << "the next one does not";
  EXPECT_EQ(count("SELECT bonus_days FROM orders WHERE id = " + std::to_string(third.id)), 0);
  EXPECT_TRUE(
      tx<bool>([&](db::Transaction& t) -> awaitable<bool> { co_return co_await Orders::refund(t, third.id, "test"); }));
  EXPECT_NEAR(days_left(2), 37, 0.01) << "a refund takes back exactly what was granted";

  // An expired order whose code is still free takes its use again and is honoured as offered.
  ASSERT_EQ(count("SELECT count(*) FROM promo_codes WHERE code = 'ONCE'"), 1);
  vpnbot::testing::exec_sync(url, "UPDATE promo_codes SET max_uses = 2 WHERE code = 'ONCE'");
  add_user(4);
  ASSERT_EQ(enter(4), PromoStatus::applied);
  auto honoured = new_order(4);
  vpnbot::testing::exec_sync(
      url, "UPDATE orders SET expires_at = now() - interval '1 minute' WHERE id = " + std::to_string(honoured.id));
  EXPECT_EQ(tx<int64_t>([](db::Transaction& t) { return Orders::expire_due(t, 10); }), 1);
  EXPECT_EQ(pay(honoured), PaymentResult::applied);
  EXPECT_EQ(count("SELECT uses FROM promo_codes WHERE code = 'ONCE'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM promo_redemptions WHERE order_id = " + std::to_string(honoured.id) +
                  " AND state = 'used'"),
            1);

  // The credited payment refunded by the provider: the balance it became is taken back.
  EXPECT_TRUE(
      tx<bool>([&](db::Transaction& t) -> awaitable<bool> { co_return co_await Orders::refund(t, late.id, "test"); }));
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 2"), 0);
  expect_ledger_consistent();
}

// Pressing pay again for the same purchase finds the order already waiting (same plan, provider, gift and amount,
// not about to expire) instead of making another; anything else is another purchase; unpaid orders are counted.
TEST_F(BillingTest, WaitingFindsTheSamePurchaseOnlyAndCountsUnpaidOrders) {
  add_user(1);
  int64_t month = plan_id("month");
  auto waiting = [&](const std::string& provider, bool gift, int64_t amount) {
    return tx<Orders::Waiting>(
        [&](db::Transaction& t) { return Orders::waiting(t, 1, month, std::nullopt, provider, gift, amount); });
  };
  EXPECT_FALSE(waiting("yookassa", false, 19900).same);
  auto card = new_order(1);
  auto same = waiting("yookassa", false, card.amount);
  ASSERT_TRUE(same.same);
  EXPECT_EQ(same.same->id, card.id);
  EXPECT_EQ(same.unpaid, 1);
  EXPECT_FALSE(waiting("heleket", false, card.amount).same) << "another provider";
  EXPECT_FALSE(waiting("yookassa", true, card.amount).same) << "a gift is another purchase";
  EXPECT_FALSE(waiting("yookassa", false, card.amount - 100).same) << "another price (a code applied since)";
  new_order(1, "heleket");
  EXPECT_EQ(waiting("yookassa", false, card.amount).unpaid, 2);
  vpnbot::testing::exec_sync(
      url, "UPDATE orders SET expires_at = now() + interval '1 minute' WHERE id = " + std::to_string(card.id));
  EXPECT_FALSE(waiting("yookassa", false, card.amount).same) << "about to expire: not offered again";
  EXPECT_EQ(pay(card), PaymentResult::applied);
  EXPECT_EQ(waiting("yookassa", false, card.amount).unpaid, 1) << "a paid order is not waiting";
}

// The shop core's checkout decides every rule itself, whatever front end asks: an unoffered method, an unknown plan,
// a balance that does not cover, the same purchase already waiting, the cap on unpaid orders and the hourly
// budget; each kind of payment starts its own way, and a traffic package needs a limited subscription.
TEST_F(BillingTest, ShopCheckoutDecidesEveryRuleAndStartsEachKindOfPayment) {
  add_user(1);
  shop::SellingRules rules{options, {"yookassa", "stars", "balance"}, true, {}};
  rules.budgets.pending_orders = 2;
  rules.budgets.checkouts_per_hour = 3;
  int64_t month = plan_id("month");
  auto buy = [&](shop::PlanPurchase purchase) {
    return tx<shop::Checkout>([&](db::Transaction& t) { return shop::buy_plan(t, rules, 1, purchase); });
  };
  using O = shop::CheckoutOutcome;
  EXPECT_EQ(buy({month, "heleket"}).outcome, O::not_offered);
  EXPECT_EQ(buy({month + 1000, "yookassa"}).outcome, O::unavailable);
  auto poor = buy({month, "balance"});
  EXPECT_EQ(poor.outcome, O::insufficient_balance);
  EXPECT_EQ(poor.balance, 0);
  EXPECT_EQ(poor.amount, 19900);

  auto card = buy({month, "yookassa", false, true});
  ASSERT_EQ(card.outcome, O::started);
  EXPECT_EQ(card.payment, shop::PaymentStart::provider_link);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'billing.create_payment'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE save_method AND id = " + std::to_string(card.order->id)), 1)
      << "the buyer's consent to save the card is recorded";
  auto again = buy({month, "yookassa", false, true});
  EXPECT_EQ(again.outcome, O::already_waiting);
  EXPECT_EQ(again.waiting->id, card.order->id) << "the same purchase: its order again, no second invoice";
  auto stars = buy({month, "stars"});
  ASSERT_EQ(stars.outcome, O::started);
  EXPECT_EQ(stars.payment, shop::PaymentStart::stars_invoice);
  EXPECT_EQ(stars.order->currency, "XTR");
  auto gift = buy({month, "yookassa", true, true});
  EXPECT_EQ(gift.outcome, O::too_many_unpaid);
  EXPECT_EQ(gift.unpaid, 2);

  // Paid from the balance at once; the next checkout is past the hour's budget of three.
  vpnbot::testing::exec_sync(url, "UPDATE orders SET state = 'canceled' WHERE user_id = 1");
  LedgerEntry credit{1, "balance", 50000, "admin", "shop-1", std::nullopt, ""};
  tx<bool>([&](db::Transaction& t) { return Ledger::post(t, credit); });
  auto from_balance = buy({month, "balance"});
  ASSERT_EQ(from_balance.outcome, O::started);
  EXPECT_EQ(from_balance.payment, shop::PaymentStart::paid_from_balance);
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE state = 'paid' AND user_id = 1"), 1);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 1"), 50000 - 19900);
  auto over = buy({month, "yookassa", true});
  EXPECT_EQ(over.outcome, O::over_budget);
  EXPECT_GT(over.retry_after_s, 0);
  EXPECT_TRUE(over.tell) << "the first refusal of the window is told";
  EXPECT_FALSE(buy({month, "yookassa", true}).tell);

  // Traffic: the buyer's subscription decides; without one there is nothing to add a package to.
  auto package = tx<TrafficPackage>([&](db::Transaction& t) { return TrafficPackages::create(t, 10, 4900, 25, 1); });
  auto buy_traffic = [&](int64_t user) {
    return tx<shop::Checkout>([&](db::Transaction& t) {
      return shop::buy_traffic(t, rules, user, {package.id, "yookassa"});
    });
  };
  EXPECT_EQ(buy_traffic(1).outcome, O::over_budget) << "traffic checkouts spend the same budget";
  add_user(2);
  EXPECT_EQ(buy_traffic(2).outcome, O::unavailable) << "no subscription to add traffic to";
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE user_id = 2"), 0);
  expect_ledger_consistent();
}

// The shop core's config requests and trial: each rule refuses in its turn, whatever front end asks.
TEST_F(BillingTest, ShopConfigRequestsFollowTheSubscriptionLimitsQuotaAndBudget) {
  add_user(1);
  budgets::Settings budgets;
  budgets.config_requests_per_hour = 4;
  auto request = [&](std::string key) {
    return tx<shop::NewConfig>([&](db::Transaction& t) {
      return shop::request_config(t, budgets, 1, {std::nullopt, std::nullopt, key});
    });
  };
  using O = shop::ConfigOutcome;
  EXPECT_EQ(request("a").outcome, O::need_subscription);
  auto trial = [&](int days) {
    return tx<std::optional<Subscription>>([&](db::Transaction& t) { return shop::start_trial(t, {days, 1}, 1); });
  };
  EXPECT_FALSE(trial(0)) << "no trial offered";
  ASSERT_TRUE(trial(3));
  EXPECT_FALSE(trial(3)) << "once per user";
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.provision'"), 1) << "the trial's first config";
  // The trial's first config is live (provisioned here as its job would): its one device is in use.
  auto& store = wireguard_node();
  run(store.provision(1, std::nullopt, "trial:1", 1));
  auto full = request("b");
  EXPECT_EQ(full.outcome, O::at_device_limit);
  EXPECT_EQ(full.device_limit, 1);
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET device_limit = 2");
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET traffic_limit_bytes = 1, traffic_blocked = true");
  EXPECT_EQ(request("c").outcome, O::traffic_used_up) << "a new WireGuard config would be off too";
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET traffic_limit_bytes = NULL, traffic_blocked = false");
  EXPECT_EQ(request("d").outcome, O::creating);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.provision'"), 2);
  auto over = request("e");
  EXPECT_EQ(over.outcome, O::over_budget) << "five requests in the hour, four allowed";
  EXPECT_TRUE(over.tell);
}

// What a user sees and may do, decided by the shop core for every front end: the catalog (the trial once), the
// subscription (when a new config or a top-up is possible), only their own configs (a stranger's id changes nothing
// and costs nothing), the points' exchange (once per key), the referral summary, and a typed code (a gift's first,
// else a promo: a days code provisions the first config).
TEST_F(BillingTest, ShopShowsUsersTheirOwnAndDecidesWhatTheyMayDoNext) {
  add_user(1);
  add_user(2, 1);
  add_user(3);
  shop::TrialOptions trial{3, 1};
  auto catalog = [&](int64_t user) {
    return tx<shop::PlanCatalog>([&](db::Transaction& t) { return shop::plan_catalog(t, trial, user); });
  };
  EXPECT_FALSE(catalog(1).plans.empty());
  EXPECT_TRUE(catalog(1).trial_offered);
  ASSERT_TRUE(tx<std::optional<Subscription>>([&](db::Transaction& t) { return shop::start_trial(t, trial, 1); }));
  EXPECT_FALSE(catalog(1).trial_offered) << "the trial is had";
  EXPECT_FALSE(catalog(1).has_gifts);

  auto& store = wireguard_node();
  auto peer = run(store.provision(1, std::nullopt, "trial:1", 1));
  auto mine = [&](int64_t user) {
    return tx<std::optional<shop::MySubscription>>(
        [&](db::Transaction& t) { return shop::my_subscription(t, false, user); });
  };
  EXPECT_FALSE(mine(2)) << "never subscribed";
  auto sub = mine(1);
  ASSERT_TRUE(sub);
  EXPECT_EQ(sub->configs_live, 1);
  EXPECT_FALSE(sub->can_add_config) << "its one device is in use";
  EXPECT_TRUE(sub->wireguard_traffic) << "a WireGuard config: its traffic is shown";
  EXPECT_FALSE(sub->can_top_up) << "unlimited";
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET device_limit = 2");
  EXPECT_TRUE(mine(1)->can_add_config);
  tx<TrafficPackage>([](db::Transaction& t) { return TrafficPackages::create(t, 5, 4900, 25, 0); });
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET traffic_limit_bytes = 1, traffic_blocked = true");
  sub = mine(1);
  EXPECT_TRUE(sub->traffic_blocked);
  EXPECT_FALSE(sub->can_add_config) << "a new WireGuard config would be off too";
  EXPECT_TRUE(sub->can_top_up);

  auto configs = [&](int64_t user) {
    return tx<shop::MyConfigs>([&](db::Transaction& t) { return shop::my_configs(t, user); });
  };
  ASSERT_EQ(configs(1).wireguard.size(), 1u);
  EXPECT_TRUE(configs(3).wireguard.empty());
  budgets::Settings budgets;
  budgets.config_requests_per_hour = 2;
  auto change = [&](int64_t user, shop::ConfigAction action) {
    return tx<shop::OwnedConfigChange>([&](db::Transaction& t) {
      return shop::change_wireguard_config(t, budgets, *node_box, user, peer.id, action);
    });
  };
  using C = shop::OwnedConfigOutcome;
  EXPECT_EQ(change(3, shop::ConfigAction::new_keys).outcome, C::not_found) << "someone else's config";
  EXPECT_EQ(count("SELECT count(*) FROM user_budgets WHERE user_id = 3"), 0) << "and it cost nothing";
  EXPECT_EQ(change(1, shop::ConfigAction::send_again).outcome, C::done);
  EXPECT_EQ(change(1, shop::ConfigAction::new_keys).outcome, C::done);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE public_key = '" + peer.public_key + "'"), 0) << "new keys";
  auto over = change(1, shop::ConfigAction::send_again);
  EXPECT_EQ(over.outcome, C::over_budget);
  EXPECT_TRUE(over.tell);
  auto panel = tx<shop::OwnedConfigChange>(
      [&](db::Transaction& t) { return shop::change_panel_account(t, budgets, 1, 999, shop::ConfigAction::remove); });
  EXPECT_EQ(panel.outcome, C::not_found);

  LedgerEntry points{1, "points", 7, "referral", "test:1", std::nullopt, ""};
  ASSERT_TRUE(tx<bool>([&](db::Transaction& t) { return Ledger::post(t, points); }));
  auto summary = tx<shop::BalanceSummary>([](db::Transaction& t) { return shop::balance_summary(t, 1, 5); });
  EXPECT_EQ(summary.points_worth, 7 * shop::kKopecksPerPoint);
  EXPECT_EQ(summary.recent.size(), 1u);
  auto exchange = [&](std::string key) {
    return tx<std::optional<shop::PointsExchanged>>(
        [&](db::Transaction& t) { return shop::exchange_points(t, 1, key); });
  };
  auto exchanged = exchange("update:1");
  ASSERT_TRUE(exchanged);
  EXPECT_EQ(exchanged->points, 7);
  EXPECT_EQ(exchanged->kopecks, 700);
  EXPECT_FALSE(exchange("update:1")) << "a replay exchanges nothing";
  EXPECT_FALSE(exchange("update:2")) << "no points left";
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 1"), 700);

  auto referrals = tx<shop::ReferralSummary>([](db::Transaction& t) {
    return shop::referral_summary(t, std::vector<int>{10, 5}, 1);
  });
  EXPECT_EQ(referrals.code, "r1");
  EXPECT_EQ(referrals.per_level, (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(referrals.percents, (std::vector<int>{10, 5}));

  create_code("WEEK", "days", 7, 10);
  auto enter = [&](int64_t user, std::string typed) {
    return tx<shop::EnteredCode>(
        [&](db::Transaction& t) { return shop::enter_code(t, 1, user, typed, "update:" + typed); });
  };
  auto week = enter(3, "week");
  EXPECT_FALSE(week.gift);
  EXPECT_EQ(week.promo.status, PromoStatus::added_days);
  ASSERT_TRUE(week.subscription);
  EXPECT_TRUE(week.subscription->active);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.provision' AND payload->>'user_id' = '3'"), 1)
      << "the days come with a first config";
  EXPECT_EQ(enter(3, "NOPE").promo.status, PromoStatus::not_found);
}

// Writing to support, decided by the shop core: a message is support's only on the Support screen or with a ticket
// open; the first opens a ticket (its topic made by a job), later ones are relayed to the topic; a replay records
// nothing twice; new tickets have their own budget; only the owner closes a ticket.
TEST_F(BillingTest, ShopSupportOpensOneTicketRelaysToItsTopicAndOnlyTheOwnerClosesIt) {
  add_user(1);
  add_user(2);
  shop::SupportSettings settings{-100500, {}};
  settings.budgets.tickets_per_day = 1;
  int64_t message_id = 0;
  auto write = [&](int64_t user, bool asked, int64_t id = 0) {
    shop::SupportMessage message{"text", "help", user, id ? id : ++message_id};
    return tx<shop::SupportWrite>(
        [&](db::Transaction& t) { return shop::write_to_support(t, settings, user, asked, message); });
  };
  using S = shop::SupportOutcome;
  EXPECT_EQ(write(1, false).outcome, S::not_for_support) << "no ticket open and not on the Support screen";
  auto first = write(1, true);
  ASSERT_EQ(first.outcome, S::recorded);
  EXPECT_TRUE(first.opened);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'support.topic'"), 1);
  EXPECT_EQ(write(1, false, message_id).outcome, S::replayed);
  vpnbot::testing::exec_sync(url, "UPDATE tickets SET topic_id = 77");
  auto second = write(1, false);
  EXPECT_EQ(second.outcome, S::recorded);
  EXPECT_FALSE(second.opened);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE method = 'copyMessage'"), 1) << "relayed to the topic";
  auto close = [&](int64_t user, int64_t ticket) {
    return tx<shop::TicketClose>(
        [&](db::Transaction& t) { return shop::close_own_ticket(t, settings, user, ticket, "k"); });
  };
  EXPECT_EQ(close(2, first.ticket->id), shop::TicketClose::not_found) << "someone else's ticket";
  EXPECT_EQ(close(1, first.ticket->id), shop::TicketClose::closed);
  EXPECT_EQ(close(1, first.ticket->id), shop::TicketClose::already_closed);
  auto over = write(1, true);
  EXPECT_EQ(over.outcome, S::over_budget) << "one new ticket a day";
  EXPECT_EQ(over.budget, budgets::Kind::tickets);
  EXPECT_TRUE(over.tell);
}

// Ten expired discounted orders paid at once, with one use of their code left: exactly one is honoured at the
// discount, nine are credited to their buyers' balances, and the code is never used beyond its limit.
TEST_F(BillingTest, LatePaymentsRacingForTheLastUseOfACodeHonourOneAndCreditTheRest) {
  create_code("RACE", "percent", 30, 10);
  std::vector<Order> orders;
  for (int i = 0; i < 10; ++i) {
    add_user(5000 + i);
    ASSERT_EQ(tx<PromoOutcome>([&](db::Transaction& t) { return Promos::enter(t, 5000 + i, "RACE", 1); }).status,
              PromoStatus::applied);
    orders.push_back(new_order(5000 + i));
    ASSERT_TRUE(orders.back().promo_id);
  }
  vpnbot::testing::exec_sync(url, "UPDATE orders SET expires_at = now() - interval '1 minute'");
  EXPECT_EQ(tx<int64_t>([](db::Transaction& t) { return Orders::expire_due(t, 100); }), 10);
  vpnbot::testing::exec_sync(url, "UPDATE promo_codes SET max_uses = 1 WHERE code = 'RACE'");
  auto results = concurrently<PaymentResult>(10, [&](db::Transaction& t, int i) -> awaitable<PaymentResult> {
    const Order& o = orders[static_cast<size_t>(i)];
    co_return co_await Orders::apply_payment(t, o.id, o.provider, "race-" + std::to_string(o.id), o.amount, o.currency,
                                             false, options);
  });
  int applied = 0, credited = 0;
  for (auto r : results) applied += r == PaymentResult::applied, credited += r == PaymentResult::credited;
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(credited, 9);
  EXPECT_EQ(count("SELECT uses FROM promo_codes WHERE code = 'RACE'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM accounts WHERE balance = " + std::to_string(orders[0].value_rub)), 9);
  expect_ledger_consistent();
}

// A user's budget: within the limit every ask is allowed; the first ask past it is told (once), the rest are refused
// quietly until the window ends; concurrent asks never let more than the limit through; kinds are separate.
TEST_F(BillingTest, BudgetsAllowTheLimitPerWindowTellOnceAndHoldUnderConcurrency) {
  add_user(1);
  budgets::Settings limits;
  limits.checkouts_per_hour = 3;
  auto spend = [&](budgets::Kind kind) {
    return tx<budgets::Spent>([&](db::Transaction& t) { return budgets::spend(t, 1, kind, limits); });
  };
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(spend(budgets::Kind::checkouts).allowed);
  auto over = spend(budgets::Kind::checkouts);
  EXPECT_FALSE(over.allowed);
  EXPECT_TRUE(over.tell);
  EXPECT_GT(over.retry_after_s, 3500);
  EXPECT_LE(over.retry_after_s, 3600);
  auto again = spend(budgets::Kind::checkouts);
  EXPECT_FALSE(again.allowed);
  EXPECT_FALSE(again.tell) << "told once per window";
  EXPECT_TRUE(spend(budgets::Kind::config_requests).allowed) << "another kind has its own count";
  vpnbot::testing::exec_sync(url, "UPDATE user_budgets SET window_start = now() - interval '61 minutes'");
  auto next_window = spend(budgets::Kind::checkouts);
  EXPECT_TRUE(next_window.allowed);
  EXPECT_FALSE(next_window.tell);
  // 50 asks at once in a fresh window: exactly the limit pass, exactly one is told.
  vpnbot::testing::exec_sync(url, "DELETE FROM user_budgets");
  auto results = concurrently<budgets::Spent>(
      50, [&](db::Transaction& t, int) { return budgets::spend(t, 1, budgets::Kind::checkouts, limits); });
  int allowed = 0, told = 0;
  for (const auto& r : results) allowed += r.allowed, told += r.tell;
  EXPECT_EQ(allowed, 3);
  EXPECT_EQ(told, 1);
  EXPECT_EQ(count("SELECT count(*) FROM user_budgets"), 1) << "one row per user and kind, whatever the flood";
}

TEST_F(BillingTest, ReferralChainOfTwelveWithACyclePaysConfiguredLevelsInOneQuery) {
  // u0 <- u1 <- ... <- u12 (u12 was invited by u11, ...), then a corrupted row closes a cycle u0 -> u12.
  for (int i = 0; i <= 12; ++i) add_user(3000 + i, i ? std::optional<int64_t>(3000 + i - 1) : std::nullopt);
  vpnbot::testing::exec_sync(url, "UPDATE users SET referrer_id = 3012 WHERE id = 3000");
  auto upline = run(pool->transaction([](db::Transaction& t) -> awaitable<std::pair<std::vector<Referrer>, uint64_t>> {
    uint64_t before = t.queries_sent();
    auto up = co_await Referrals::upline(t, 3012, 3);
    co_return std::make_pair(up, t.queries_sent() - before);
  }));
  EXPECT_EQ(upline.second, 1u) << "the whole upline in ONE query";
  ASSERT_EQ(upline.first.size(), 3u);
  EXPECT_EQ(upline.first[0].user_id, 3011);
  EXPECT_EQ(upline.first[2].user_id, 3009);
  EXPECT_EQ(upline.first[2].level, 3);
  // Through the cycle with a deep limit: every user once, then it stops.
  auto deep = tx<std::vector<Referrer>>([](db::Transaction& t) { return Referrals::upline(t, 3000, 50); });
  EXPECT_EQ(deep.size(), 12u) << "the cycle guard ends the walk before it reaches the start again";
  std::set<int64_t> distinct;
  for (const auto& r : deep) distinct.insert(r.user_id);
  EXPECT_EQ(distinct.size(), 12u);
  EXPECT_FALSE(distinct.count(3000));

  auto o = new_order(3012);
  EXPECT_EQ(o.bonus_days, 3) << "an invited user's first purchase carries the welcome bonus";
  EXPECT_EQ(pay(o), PaymentResult::applied);
  EXPECT_NEAR(days_left(3012), 33, 0.01);
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE source = 'referral'"), 3) << "levels 1-3 only";
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 3011"), 1990);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 3010"), 995);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 3009"), 398);
  EXPECT_EQ(count("SELECT count(*) FROM accounts WHERE user_id = 3008"), 0);
  EXPECT_EQ(pay(o), PaymentResult::already_applied);
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE source = 'referral'"), 3);
  // A banned referrer earns nothing; the levels above still do.
  vpnbot::testing::exec_sync(url, "UPDATE users SET banned = true WHERE id = 3010");
  add_user(3100, 3012);
  EXPECT_EQ(pay(new_order(3100)), PaymentResult::applied);
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE user_id = 3011 AND source = 'referral'"), 2);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 3010"), 995);
  auto stats = tx<ReferralStats>([](db::Transaction& t) { return Referrals::stats(t, 3010, 3); });
  EXPECT_EQ(stats.per_level, (std::vector<int64_t>{1, 1, 2}));
  EXPECT_EQ(stats.earned, 995);
  expect_ledger_consistent();
}

TEST_F(BillingTest, RefundReversesDaysRewardsAndCashbackOnce) {
  add_user(1);
  add_user(2, 1);
  auto o = new_order(2);
  EXPECT_EQ(pay(o), PaymentResult::applied);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 1"), 1990);
  EXPECT_TRUE(
      tx<bool>([&](db::Transaction& t) -> awaitable<bool> { co_return co_await Orders::refund(t, o.id, "test"); }));
  EXPECT_FALSE(tx<bool>([&](db::Transaction& t) -> awaitable<bool> {
    co_return co_await Orders::refund(t, o.id, "test");
  })) << "a replay";
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 1"), 0);
  EXPECT_EQ(count("SELECT points FROM accounts WHERE user_id = 2"), 0);
  EXPECT_NEAR(days_left(2), 0, 0.01);
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE source LIKE '%_reversal'"), 2);
  // A balance purchase refunded goes back to the balance.
  LedgerEntry credit{2, "balance", 50000, "admin", "test-credit", std::nullopt, "test"};
  tx<bool>([&](db::Transaction& t) { return Ledger::post(t, credit); });
  auto b = new_order(2, "balance");
  EXPECT_EQ(tx<PaymentResult>([&](db::Transaction& t) { return Orders::pay_from_balance(t, b, options); }),
            PaymentResult::applied);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 2"), 50000 - 19900);
  EXPECT_TRUE(
      tx<bool>([&](db::Transaction& t) -> awaitable<bool> { co_return co_await Orders::refund(t, b.id, "test"); }));
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 2"), 50000);
  expect_ledger_consistent();
}

TEST_F(BillingTest, BalanceIsNeverSpentTwice) {
  add_user(1);
  LedgerEntry credit{1, "balance", 30000, "admin", "c1", std::nullopt, ""};
  tx<bool>([&](db::Transaction& t) { return Ledger::post(t, credit); });
  EXPECT_FALSE(tx<bool>([&](db::Transaction& t) { return Ledger::post(t, credit); })) << "same reference: once";
  auto a = new_order(1, "balance"), b = new_order(1, "balance");
  std::vector<PaymentResult> results;
  int pending = 2;
  for (const auto& o : {a, b})
    asio::co_spawn(io, pool->transaction([this, o](db::Transaction& t) -> awaitable<PaymentResult> {
      co_return co_await Orders::pay_from_balance(t, o, options);
    }),
                   [&](std::exception_ptr e, PaymentResult r) {
                     if (e) std::rethrow_exception(e);
                     results.push_back(r);
                     --pending;
                   });
  run([&]() -> awaitable<void> {
    while (pending > 0) co_await sleep_for(Millis(10));
  }());
  EXPECT_EQ(std::count(results.begin(), results.end(), PaymentResult::applied), 1)
      << "300 ₽ pays for one 199 ₽ order";
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 1"), 30000 - 19900);
  expect_ledger_consistent();
}

TEST_F(BillingTest, TrialOncePerUserEvenConcurrently) {
  add_user(1);
  int granted = 0, pending = 10;
  for (int i = 0; i < 10; ++i)
    asio::co_spawn(io, pool->transaction([](db::Transaction& t) -> awaitable<bool> {
      auto s = co_await Subscriptions::grant_trial(t, 1, 3, 1);
      co_return s.has_value();
    }),
                   [&](std::exception_ptr e, bool ok) {
                     if (e) std::rethrow_exception(e);
                     granted += ok;
                     --pending;
                   });
  run([&]() -> awaitable<void> {
    while (pending > 0) co_await sleep_for(Millis(10));
  }());
  EXPECT_EQ(granted, 1);
  EXPECT_NEAR(days_left(1), 3, 0.01);
  vpnbot::testing::exec_sync(url, "DELETE FROM subscriptions");
  EXPECT_FALSE(tx<std::optional<Subscription>>([](db::Transaction& t) {
    return Subscriptions::grant_trial(t, 1, 3, 1);
  })) << "ever: even after the subscription is gone";
  add_user(2);
  tx<Subscription>([](db::Transaction& t) { return Subscriptions::extend(t, 2, 30, 1, std::nullopt, false); });
  EXPECT_FALSE(tx<bool>([](db::Transaction& t) { return Subscriptions::trial_available(t, 2); }))
      << "not for users who already have a subscription";
}

TEST_F(BillingTest, HiddenPlanOnlyWithItsCode) {
  add_user(1);
  int64_t vip = tx<Plan>([](db::Transaction& t) -> awaitable<Plan> {
                  NewPlan p;
                  p.code = "vip";
                  p.title = {{"en", "VIP"}};
                  p.days = 60;
                  p.price_rub = 9900;
                  p.price_stars = 50;
                  p.device_limit = 10;
                  p.hidden = true;
                  co_return co_await Plans::create(t, p);
                }).id;
  auto visible = tx<std::vector<Plan>>([](db::Transaction& t) { return Plans::for_user(t, 1); });
  EXPECT_EQ(visible.size(), 3u);
  EXPECT_THROW(new_order(1, "yookassa", "vip"), PlanUnavailable);
  tx<PromoCode>([&](db::Transaction& t) -> awaitable<PromoCode> {
    NewPromo p;
    p.code = "VIPACCESS";
    p.kind = "plan";
    p.unlock_plan_id = vip;
    co_return co_await Promos::create(t, p);
  });
  EXPECT_EQ(tx<PromoOutcome>([](db::Transaction& t) { return Promos::enter(t, 1, "vipaccess", 1); }).status,
            PromoStatus::applied);
  visible = tx<std::vector<Plan>>([](db::Transaction& t) { return Plans::for_user(t, 1); });
  EXPECT_EQ(visible.size(), 4u);
  auto o = new_order(1, "stars", "vip");
  EXPECT_EQ(o.amount, 50);
  EXPECT_EQ(o.currency, "XTR");
  EXPECT_EQ(pay(o), PaymentResult::applied);
  EXPECT_EQ(count("SELECT device_limit FROM subscriptions WHERE user_id = 1"), 10);
}

TEST_F(BillingTest, ExpiredSubscriptionsSwitchConfigsOffAndRenewalBringsTheSameOnesBack) {
  auto& store = wireguard_node();
  add_user(1);
  add_user(2);
  for (int64_t user : {1, 2}) {
    tx<Subscription>([&](db::Transaction& t) { return Subscriptions::extend(t, user, 30, 2, std::nullopt, false); });
    for (int k = 0; k < 2; ++k)
      run(store.provision(user, std::nullopt, "p" + std::to_string(user) + std::to_string(k), 2));
  }
  auto keys_before = vpnbot::testing::query_value_sync(
      url, "SELECT string_agg(public_key, ',' ORDER BY id) FROM vpn_peers WHERE user_id = 1");
  vpnbot::testing::exec_sync(url,
                             "UPDATE subscriptions SET expires_at = now() - interval '2 minutes' WHERE user_id = 1");
  auto deactivate = [&](Millis grace) {
    return tx<std::vector<int64_t>>([&](db::Transaction& t) -> awaitable<std::vector<int64_t>> {
      auto users = co_await Subscriptions::deactivate_expired(t, grace, 100);
      for (auto u : users) co_await vpn::VpnStore::set_user_peers_state(t, u, "active", "disabled");
      co_return users;
    });
  };
  EXPECT_TRUE(deactivate(Millis(600000)).empty()) << "still within the grace period";
  EXPECT_EQ(deactivate(Millis(0)), (std::vector<int64_t>{1}));
  EXPECT_TRUE(deactivate(Millis(0)).empty()) << "each expiry is handled once";
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 1 AND state = 'disabled'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 2 AND state = 'active'"), 2);
  EXPECT_EQ(pay(new_order(1)), PaymentResult::applied);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 1 AND state = 'active'"), 2);
  EXPECT_EQ(vpnbot::testing::query_value_sync(
                url, "SELECT string_agg(public_key, ',' ORDER BY id) FROM vpn_peers WHERE user_id = 1"),
            keys_before)
      << "the same configs (addresses and keys) work again";
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.provision'"), 0) << "no new config: the old ones return";
  // A banned user's payment does not switch configs back on.
  vpnbot::testing::exec_sync(url,
                             "UPDATE subscriptions SET expires_at = now() - interval '1 minute' WHERE user_id = 1");
  deactivate(Millis(0));
  vpnbot::testing::exec_sync(url, "UPDATE users SET banned = true WHERE id = 1");
  EXPECT_EQ(pay(new_order(1)), PaymentResult::applied);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 1 AND state = 'active'"), 0);
}

// A gift order paid (twice, as a replay) issues one code and gives the buyer nothing; of a hundred users redeeming
// it at once exactly one gets the days and the first config; a refund of the gift order takes them back.
// A traffic package's payment delivered twenty times at once adds its gigabytes once; two refunds at once take them
// back once; packages are sold only to an active subscription with a traffic limit.
TEST_F(BillingTest, TrafficTopUpDeliveredTwentyTimesAtOnceIsAddedOnceAndRefundedOnce) {
  add_user(1);
  add_user(2);
  vpnbot::testing::exec_sync(url, "UPDATE plans SET traffic_gb = 1 WHERE code = 'month'");
  EXPECT_EQ(pay(new_order(1)), PaymentResult::applied);
  EXPECT_EQ(count("SELECT traffic_limit_bytes FROM subscriptions WHERE user_id = 1"), vpn::kBytesPerGb);
  auto package = tx<TrafficPackage>([](db::Transaction& t) { return TrafficPackages::create(t, 5, 4900, 25, 0); });
  auto create = [&](int64_t user, int64_t package_id) {
    return tx<Order>([&](db::Transaction& t) -> awaitable<Order> {
      co_return co_await Orders::create_traffic(t, user, package_id, "yookassa", options);
    });
  };
  EXPECT_THROW(create(2, package.id), PlanUnavailable) << "no subscription";
  EXPECT_THROW(create(1, package.id + 1), PlanUnavailable) << "no such package";
  auto order = create(1, package.id);
  EXPECT_EQ(order.traffic_gb, 5);
  EXPECT_EQ(order.days, 0);
  EXPECT_EQ(order.amount, 4900);
  auto results = concurrently<PaymentResult>(20, [&](db::Transaction& t, int) -> awaitable<PaymentResult> {
    co_return co_await Orders::apply_payment(t, order.id, "yookassa", "pay-traffic", order.amount, "RUB", false,
                                             options);
  });
  EXPECT_EQ(std::count(results.begin(), results.end(), PaymentResult::applied), 1);
  EXPECT_EQ(std::count(results.begin(), results.end(), PaymentResult::already_applied), 19);
  EXPECT_EQ(count("SELECT traffic_extra_bytes FROM subscriptions WHERE user_id = 1"), 5 * vpn::kBytesPerGb);
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE source = 'cashback' AND reference = 'order:" +
                  std::to_string(order.id) + "'"),
            1);
  EXPECT_NEAR(days_left(1), 30, 0.01) << "a package adds no days";
  auto refunds = concurrently<bool>(
      2, [&](db::Transaction& t, int) -> awaitable<bool> { co_return co_await Orders::refund(t, order.id, "asked"); });
  EXPECT_EQ(std::count(refunds.begin(), refunds.end(), true), 1);
  EXPECT_EQ(count("SELECT traffic_extra_bytes FROM subscriptions WHERE user_id = 1"), 0);
  EXPECT_NEAR(days_left(1), 30, 0.01) << "a refunded package takes no days";
  tx<bool>([&](db::Transaction& t) { return TrafficPackages::set_active(t, package.id, false); });
  EXPECT_THROW(create(1, package.id), PlanUnavailable) << "off sale";
}

TEST_F(BillingTest, GiftIsRedeemedByExactlyOneOfAHundredConcurrentTries) {
  add_user(1);
  add_user(2, 1);  // the buyer was invited: the inviter's reward is paid on the gift too, the bonus days are not
  options.referral_bonus_days = 7;
  for (int i = 0; i < 100; ++i) add_user(500 + i);
  auto order = new_order(2, "yookassa", "month", true);
  EXPECT_TRUE(order.gift);
  EXPECT_EQ(order.bonus_days, 0) << "welcome bonus days are the buyer's, not the gift's";
  EXPECT_EQ(pay(order), PaymentResult::applied);
  EXPECT_EQ(pay(order), PaymentResult::already_applied);
  EXPECT_EQ(count("SELECT count(*) FROM gifts"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), 0) << "the buyer's subscription is not extended";
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.provision'"), 0);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 1"), 1990) << "the inviter's reward";
  auto gift = tx<std::optional<Gift>>([&](db::Transaction& t) { return Gifts::for_order(t, order.id); });
  ASSERT_TRUE(gift);
  EXPECT_EQ(gift->state, "open");
  EXPECT_EQ(Gifts::normalize(gift->code.substr(0, 4) + "-" + gift->code.substr(4, 4) + " " + gift->code.substr(8)),
            gift->code)
      << "dashes and spaces typed by people are ignored";
  std::string lower = gift->code;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(Gifts::normalize(lower), gift->code);

  auto outcomes = concurrently<GiftStatus>(100, [&](db::Transaction& t, int i) -> awaitable<GiftStatus> {
    co_return (co_await Gifts::redeem(t, gift->code, 500 + i)).status;
  });
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), GiftStatus::redeemed), 1);
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), GiftStatus::already_redeemed), 99);
  int64_t winner = 500 + (std::find(outcomes.begin(), outcomes.end(), GiftStatus::redeemed) - outcomes.begin());
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), 1);
  EXPECT_NEAR(days_left(winner), 30, 0.01);
  EXPECT_EQ(count("SELECT device_limit FROM subscriptions"), 3) << "the plan's device limit";
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.provision'"), 1) << "one first config, the winner's";
  EXPECT_EQ(count("SELECT redeemed_by FROM gifts"), winner);
  // Too late, a typo, a code that is none.
  auto late = tx<GiftOutcome>([&](db::Transaction& t) { return Gifts::redeem(t, gift->code, 501); });
  EXPECT_EQ(late.status, GiftStatus::already_redeemed);
  auto typo = tx<GiftOutcome>([&](db::Transaction& t) -> awaitable<GiftOutcome> {
    co_return co_await Gifts::redeem(t, "AAAAAAAAAAAA", 501);  // a coroutine lambda: the temporary must live
  });
  EXPECT_EQ(typo.status, GiftStatus::not_found);
  EXPECT_FALSE(Gifts::normalize("SHORT"));
  EXPECT_FALSE(Gifts::normalize("ABCDEFGHJKM!"));

  // The gift order refunded: the redeemer loses the days (configs off), the gift is revoked; a replay does nothing.
  EXPECT_TRUE(
      tx<bool>([&](db::Transaction& t) -> awaitable<bool> { co_return co_await Orders::refund(t, order.id, "t"); }));
  EXPECT_FALSE(
      tx<bool>([&](db::Transaction& t) -> awaitable<bool> { co_return co_await Orders::refund(t, order.id, "t"); }));
  EXPECT_NEAR(days_left(winner), 0, 0.01);
  EXPECT_EQ(count("SELECT count(*) FROM gifts WHERE state = 'revoked'"), 1);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 1"), 0) << "the inviter's reward reversed";

  // An open gift refunded can no longer be redeemed.
  auto second = new_order(2, "yookassa", "month", true);
  EXPECT_EQ(pay(second), PaymentResult::applied);
  EXPECT_TRUE(
      tx<bool>([&](db::Transaction& t) -> awaitable<bool> { co_return co_await Orders::refund(t, second.id, "t"); }));
  auto revoked = tx<std::optional<Gift>>([&](db::Transaction& t) { return Gifts::for_order(t, second.id); });
  ASSERT_TRUE(revoked);
  EXPECT_EQ(tx<GiftOutcome>([&](db::Transaction& t) { return Gifts::redeem(t, revoked->code, 502); }).status,
            GiftStatus::revoked);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id = 502"), 0);
  expect_ledger_consistent();
}

// A promo group's percent comes off first and a percent code applies to what is left; the order records both
// parts; if the code can no longer be reserved the group's price still holds. A group code puts users in the group
// within its use limit, even when a hundred enter it at once.
TEST_F(BillingTest, PromoGroupDiscountComposesWithACodeAndAGroupCodeFillsOnlyItsUses) {
  for (int i = 0; i < 100; ++i) add_user(700 + i);
  auto create_group = [&](std::string name, int percent) {
    return tx<PromoGroup>([&](db::Transaction& t) { return PromoGroups::create(t, name, percent); });
  };
  auto group = create_group("friends", 20);
  EXPECT_THROW(create_group("friends", 10), std::invalid_argument) << "the name is taken";
  EXPECT_THROW(create_group("Big Spenders", 10), std::invalid_argument);
  EXPECT_THROW(create_group("greedy", 95), std::invalid_argument);
  tx<PromoCode>([&](db::Transaction& t) -> awaitable<PromoCode> {
    NewPromo p;
    p.code = "JOINFRIENDS";
    p.kind = "group";
    p.group_id = group.id;
    p.max_uses = 10;
    co_return co_await Promos::create(t, p);
  });
  auto joined = concurrently<PromoStatus>(100, [](db::Transaction& t, int i) -> awaitable<PromoStatus> {
    co_return (co_await Promos::enter(t, 700 + i, "joinfriends", 1)).status;
  });
  EXPECT_EQ(std::count(joined.begin(), joined.end(), PromoStatus::joined_group), 10);
  EXPECT_EQ(std::count(joined.begin(), joined.end(), PromoStatus::exhausted), 90);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE promo_group_id IS NOT NULL"), 10);
  int64_t member = 700 + (std::find(joined.begin(), joined.end(), PromoStatus::joined_group) - joined.begin());
  int64_t outsider = 700 + (std::find(joined.begin(), joined.end(), PromoStatus::exhausted) - joined.begin());

  // Group only: 199 - 20 % = 159.20; stars in proportion.
  auto plain = new_order(member);
  EXPECT_EQ(plain.amount, 15920);
  EXPECT_EQ(plain.discount_rub, 3980);
  EXPECT_EQ(plain.group_discount_rub, 3980);
  EXPECT_EQ(new_order(member, "stars").amount, 80);
  EXPECT_EQ(new_order(outsider).amount, 19900) << "no group, no discount";
  // Group and a 10 % code: 10 % of 159.20 more.
  create_code("TEN", "percent", 10, 1);
  EXPECT_EQ(tx<PromoOutcome>([&](db::Transaction& t) { return Promos::enter(t, member, "TEN", 1); }).status,
            PromoStatus::applied);
  auto quote = tx<Quote>([&](db::Transaction& t) { return Orders::quote(t, member, plan_id("month"), options); });
  ASSERT_TRUE(quote.group);
  EXPECT_EQ(quote.group->plan_percent, 20);
  EXPECT_EQ(quote.price.rub, 14328);
  auto both = new_order(member);
  EXPECT_EQ(both.amount, 14328);
  EXPECT_EQ(both.discount_rub, 3980 + 1592);
  EXPECT_EQ(both.group_discount_rub, 3980);
  EXPECT_EQ(pay(both), PaymentResult::applied);
  // The code is used up: an order made with it attached falls back to the group's price, not the full one.
  vpnbot::testing::exec_sync(url, "INSERT INTO promo_redemptions (promo_id, user_id, state) SELECT id, " +
                                      std::to_string(outsider) + ", 'applied' FROM promo_codes WHERE code = 'TEN'");
  vpnbot::testing::exec_sync(
      url, "UPDATE users SET promo_group_id = " + std::to_string(group.id) + " WHERE id = " + std::to_string(outsider));
  bool dropped = false;
  std::string provider = "yookassa";
  int64_t month = plan_id("month");
  auto fallback =
      tx<Order>([&](db::Transaction& t) { return Orders::create(t, outsider, month, provider, options, &dropped); });
  EXPECT_TRUE(dropped);
  EXPECT_EQ(fallback.amount, 15920);
  EXPECT_EQ(fallback.group_discount_rub, 3980);
  // Out of the group: full price again.
  EXPECT_TRUE(tx<bool>([&](db::Transaction& t) { return PromoGroups::assign(t, member, std::nullopt); }));
  EXPECT_EQ(new_order(member).amount, 19900);
  auto groups = tx<std::vector<PromoGroup>>([](db::Transaction& t) { return PromoGroups::list(t); });
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].members, 10) << "nine left from the code plus the outsider put in by hand";
  expect_ledger_consistent();
}
