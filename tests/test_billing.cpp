// Billing against a real PostgreSQL: the payment state machine under replays and concurrency, promo limits under
// races, the referral upline in one query, refunds, trials, order expiry, and ledger consistency.
#include <gtest/gtest.h>

#include "billing/ledger.hpp"
#include "billing/orders.hpp"
#include "billing/promo.hpp"
#include "billing/referral.hpp"
#include "billing/store.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"
#include "vpn/store.hpp"

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
  int64_t plan_id(const std::string& code) { return count("SELECT id FROM plans WHERE code = '" + code + "'"); }
  Order new_order(int64_t user, const std::string& provider = "yookassa", const std::string& plan = "month") {
    int64_t id = plan_id(plan);
    return tx<Order>([&](db::Transaction& t) { return Orders::create(t, user, id, provider, options); });
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
  tx<PromoCode>([&](db::Transaction& t) -> awaitable<PromoCode> {
    NewPromo p;
    p.code = "GIFT";
    p.kind = "balance";
    p.value = 5000;
    p.max_uses = 10;
    co_return co_await Promos::create(t, p);
  });
  for (int i = 0; i < 100; ++i) add_user(1000 + i);
  std::map<PromoStatus, int> outcomes;
  int pending = 0;
  for (int i = 0; i < 100; ++i) {
    ++pending;
    int64_t user = 1000 + i;
    asio::co_spawn(io, pool->transaction([user](db::Transaction& t) -> awaitable<PromoStatus> {
      auto outcome = co_await Promos::enter(t, user, "gift", 1);
      co_return outcome.status;
    }),
                   [&](std::exception_ptr e, PromoStatus s) {
                     if (e) std::rethrow_exception(e);
                     ++outcomes[s];
                     --pending;
                   });
  }
  run([&]() -> awaitable<void> {
    while (pending > 0) co_await sleep_for(Millis(10));
  }());
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
  tx<PromoCode>([&](db::Transaction& t) -> awaitable<PromoCode> {
    NewPromo p;
    p.code = "SALE20";
    p.kind = "percent";
    p.value = 20;
    p.max_uses = 10;
    co_return co_await Promos::create(t, p);
  });
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
  auto box = vpn::SecretBox::from_file(vpnbot::testing::test_master_key_file(), false);
  vpn::VpnStore store(*pool, box);
  vpn::NodeSpec spec;
  spec.name = "n1";
  spec.country_code = "DE";
  spec.location = "Frankfurt";
  spec.endpoint_host = "127.0.0.1";
  spec.subnet_v4 = "10.9.0.0/24";
  run(store.add_node(spec));
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
