// Scheduled work end to end with the real binary: expiry reminders from two scheduler processes on a fast clock
// (the leader killed midway, a renewal in between), and a 50,000-user broadcast with the sender and the
// scheduler killed with SIGKILL mid-way: each recipient at most one copy, blocked users marked, limits kept.
#include <signal.h>

#include "bot/reminders.hpp"
#include "support/emulator_thread.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"

using namespace vpnbot;
using nlohmann::json;
using vpnbot::testing::AsyncDbTest;
using vpnbot::testing::EmulatorThread;

class SchedulerTest : public AsyncDbTest {
 protected:
  bool eventually(const std::function<bool()>& condition, Millis timeout = Millis(60000)) {
    return vpnbot::testing::wait_until(condition, timeout);
  }
  std::map<std::string, std::string> env(const EmulatorThread& telegram) {
    return {{"VPNBOT_DATABASE_URL", url},
            {"VPNBOT_HTTP_LISTEN", "127.0.0.1:0"},
            {"VPNBOT_PUBLIC_URL", "http://127.0.0.1:1"},
            {"VPNBOT_TELEGRAM_MODE", "webhook"},
            {"VPNBOT_TELEGRAM_API_URL", telegram.base_url()},
            {"VPNBOT_TELEGRAM_TOKEN", telegram.token()},
            {"VPNBOT_TELEGRAM_WEBHOOK_SECRET", "scheduler-test"},
            {"VPNBOT_JOB_POLL_INTERVAL_MS", "200"},
            {"VPNBOT_LEASE_TTL_MS", "3000"},
            {"VPNBOT_JOB_LEASE_MS", "5000"},
            {"VPNBOT_TELEGRAM_SEND_TIMEOUT_MS", "2000"},
            {"VPNBOT_LOG_LEVEL", "info"},
            {"VPNBOT_MASTER_KEY_FILE", vpnbot::testing::test_master_key_file()}};
  }
  vpnbot::testing::Process spawn(std::map<std::string, std::string> e, const std::string& roles,
                                 const std::string& instance) {
    e["VPNBOT_ROLES"] = roles;
    e["VPNBOT_INSTANCE_ID"] = instance;
    return vpnbot::testing::spawn_vpnbot({"serve"}, e);
  }
  // What the queue and the outbox look like (for failure messages).
  std::string state_dump() {
    return vpnbot::testing::query_value_sync(
               url,
               "SELECT coalesce(string_agg(kind || '/' || state || ':' || n || ' ' || coalesce(err, ''), '; '), "
               "'no jobs') FROM (SELECT kind, state, count(*) AS n, max(last_error) AS err FROM jobs GROUP BY 1, "
               "2) j") +
           "\noutbox: " +
           vpnbot::testing::query_value_sync(
               url,
               "SELECT coalesce(string_agg(state || ':' || n || ' ' || coalesce(err, ''), '; '), 'empty') FROM "
               "(SELECT state, count(*) AS n, max(last_error) AS err FROM outbox GROUP BY 1) o");
  }
  std::string scheduler_leader() {
    return vpnbot::testing::query_value_sync(
        url, "SELECT coalesce((SELECT owner FROM leases WHERE key = 'scheduler' AND expires_at > now()), '')");
  }
};

TEST_F(SchedulerTest, TwoSchedulersOnAFastClockSendEachReminderOnceAcrossAFailoverAndARenewal) {
  EmulatorThread telegram;
  telegram.client("/client/users", {{"from", 1}, {"count", 21}});
  // Users 1-10 expire in 73 h, 11-20 in 30 h; 21 blocked the bot. Set up a day ago.
  vpnbot::testing::exec_sync(url, R"sql(
INSERT INTO users (id, referral_code, reachable) SELECT g, 'u' || g, g <> 21 FROM generate_series(1, 21) g;
INSERT INTO subscriptions (user_id, expires_at, device_limit, updated_at)
SELECT g, now() + CASE WHEN g <= 10 OR g = 21 THEN interval '73 hours' ELSE interval '30 hours' END, 1,
       now() - interval '1 day' FROM generate_series(1, 21) g;
-- 11 and 12 renew automatically from the balance (12 hours before expiry); only 11 has the money.
UPDATE subscriptions SET auto_renew = true, plan_id = (SELECT id FROM plans WHERE code = 'month') WHERE user_id IN (11, 12);
INSERT INTO ledger (user_id, account, amount, source, reference) VALUES (11, 'balance', 50000, 'admin', 'test');
INSERT INTO accounts (user_id, balance) VALUES (11, 50000);)sql");
  auto e = env(telegram);
  // 1 s of real time is 5 h on the schedulers' clock (a tick every 200 ms = 1 h); both share the origin, so their
  // time buckets agree.
  e["VPNBOT_SCHEDULER_TIME_SCALE"] = "18000";
  e["VPNBOT_RECEIPT_WAIT_MS"] = "1000";  // for the renewal's first config, which cannot come: there is no node
  e["VPNBOT_SCHEDULER_TICK_MS"] = "200";
  e["VPNBOT_SCHEDULER_TIME_ORIGIN_MS"] =
      std::to_string(std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count());
  e["VPNBOT_REMINDER_LOOKBACK_MS"] = std::to_string(48LL * 3600 * 1000);
  auto worker = spawn(e, "worker", "worker-1");
  std::vector<vpnbot::testing::Process> schedulers;
  schedulers.push_back(spawn(e, "scheduler", "scheduler-a"));
  schedulers.push_back(spawn(e, "scheduler", "scheduler-b"));
  auto reminders_of = [&](int64_t user) {
    int n = 0;
    for (auto& m : telegram.messages(user))
      if (m.value("from_bot", false) && (m.value("text", "").find("Renew now") != std::string::npos ||
                                         m.value("text", "").find("has ended") != std::string::npos))
        ++n;
    return n;
  };
  // The 72-hour reminder of the first group goes out at once.
  ASSERT_TRUE(eventually([&] { return reminders_of(1) == 1; }, Millis(20000)))
      << state_dump() << "\n"
      << schedulers[0].output().substr(0, 2000) << worker.output().substr(0, 3000);
  // User 1 renews between the 72 h and the 24 h reminder.
  vpnbot::testing::exec_sync(url,
                             "UPDATE subscriptions SET expires_at = expires_at + interval '30 days', "
                             "updated_at = now() WHERE user_id = 1");
  // User 11's auto-renewal is due 12 h before its expiry (before its expiry reminder).
  ASSERT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM orders WHERE user_id = 11 AND state = 'paid'") == 1; }, Millis(20000)))
      << state_dump();
  // The leader dies; the other scheduler takes over within the lease TTL.
  std::string leader = scheduler_leader();
  ASSERT_FALSE(leader.empty());
  auto& victim = leader == "scheduler-a" ? schedulers[0] : schedulers[1];
  victim.signal(SIGKILL);
  EXPECT_EQ(victim.wait(Millis(5000)), 128 + SIGKILL);
  ASSERT_TRUE(eventually([&] {
    auto now = scheduler_leader();
    return !now.empty() && now != leader;
  })) << "failover";
  // Group 1 (2-10): 72 h, 24 h and expiry; group 2 (11-20): 24 h and expiry (they had < 72 h when it started).
  ASSERT_TRUE(eventually(
      [&] {
        for (int64_t u = 2; u <= 10; ++u)
          if (reminders_of(u) < 3) return false;
        for (int64_t u = 12; u <= 20; ++u)
          if (reminders_of(u) < 2) return false;
        return reminders_of(11) == 1;
      },
      Millis(40000)))
      << state_dump() << "\n"
      << [&] {
           std::string out;
           for (int64_t u = 1; u <= 21; ++u) out += std::to_string(u) + ":" + std::to_string(reminders_of(u)) + " ";
           return out;
         }();
  std::this_thread::sleep_for(Millis(3000));  // more ticks: nothing may arrive twice
  for (int64_t u = 2; u <= 10; ++u) EXPECT_EQ(reminders_of(u), 3) << "user " << u;
  for (int64_t u = 12; u <= 20; ++u) EXPECT_EQ(reminders_of(u), 2) << "user " << u;
  // Auto-renewal: 11 paid from the balance before expiry (no expiry reminder for the old date), 12 was told what
  // is missing.
  EXPECT_EQ(reminders_of(11), 1) << "the 24 h reminder, then the renewal moved the expiry";
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE user_id = 11 AND provider = 'balance' AND state = 'paid'"), 1);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 11"), 50000 - 19900);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id = 11 AND expires_at > now() + interval '31 days'"),
            1);
  auto mentions = [&](int64_t user, const std::string& needle) {
    int n = 0;
    for (auto& m : telegram.messages(user)) n += vpnbot::testing::shown_text(m).find(needle) != std::string::npos;
    return n;
  };
  // User 11 had no config, so the renewal provisions one and its receipt waits to ride on it; with no node to put it
  // on, the receipt goes out alone once the wait is over.
  EXPECT_TRUE(eventually([&] { return mentions(11, "Payment received") == 1; }));
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.provision' AND state <> 'done'"), 1);
  EXPECT_EQ(mentions(12, "Auto-renewal"), 1) << "insufficient balance: told once";
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE user_id = 12"), 0);
  EXPECT_EQ(reminders_of(1), 1) << "the 24 h and expiry reminders of the old expiry are not sent after a renewal";
  EXPECT_EQ(reminders_of(21), 0) << "users who blocked the bot are skipped";
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE unique_key LIKE 'reminder:%'"), 9 * 3 + 9 * 2 + 1 + 1);
  EXPECT_GT(count("SELECT count(*) FROM jobs WHERE kind = 'billing.reminders'"), 5) << "the fast clock ticked";
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE deactivated"), 19) << "all but the two renewed expired";
  EXPECT_EQ(telegram.stats()["per_chat_violations"].get<int>(), 0);
  worker.signal(SIGTERM);
  for (auto& s : schedulers)
    if (s.wait(Millis(1)) == -1) s.signal(SIGTERM);
  EXPECT_EQ(worker.wait(Millis(20000)), 0);
}

TEST_F(SchedulerTest, FiftyThousandRecipientBroadcastSurvivesKillingTheSenderAndTheScheduler) {
  constexpr int kUsers = 50000;
  emulator::TelegramEmulatorOptions options;
  options.global_per_second = 1000;  // scaled-up limits (paid broadcasts allow up to 1000/s)
  EmulatorThread telegram(options);
  std::vector<int64_t> blocked;
  for (int64_t id = 100000; id < 100000 + kUsers; id += 100) blocked.push_back(id);
  telegram.client("/client/users", {{"from", 100000}, {"count", kUsers}, {"blocked", blocked}});
  vpnbot::testing::exec_sync(url,
                             "INSERT INTO users (id, referral_code, started_at) SELECT g, 'b' || g, now() FROM "
                             "generate_series(100000, " +
                                 std::to_string(100000 + kUsers - 1) + ") g");
  auto e = env(telegram);
  e["VPNBOT_TELEGRAM_GLOBAL_RATE"] = "1000";
  auto worker = spawn(e, "worker", "worker-1");
  auto scheduler = spawn(e, "scheduler", "scheduler-1");
  auto admin = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"admin", "--json", "broadcast"});
    auto p = vpnbot::testing::spawn_vpnbot(args, e);
    int rc = p.wait(Millis(20000));
    EXPECT_EQ(rc, 0) << p.output();
    return p.output();
  };
  admin({"create", "--text", "<b>News</b>: servers in Tokyo", "--button", "Open|https://example.org/news"});
  admin({"preview", "1", "--to", "100001"});
  ASSERT_TRUE(eventually([&] { return telegram.messages(100001).size() == 1; }));
  admin({"start", "1", "--status-chat", "100002"});
  ASSERT_TRUE(
      eventually([&] { return count("SELECT count(*) FROM outbox WHERE broadcast_id = 1 AND state = 'sent'") > 8000; },
                 Millis(60000)))
      << state_dump() << "\n"
      << worker.output().substr(0, 3000);
  worker.signal(SIGKILL);
  scheduler.signal(SIGKILL);
  worker.wait(Millis(5000));
  scheduler.wait(Millis(5000));
  int64_t sent_at_kill = count("SELECT count(*) FROM outbox WHERE broadcast_id = 1 AND state = 'sent'");
  auto worker2 = spawn(e, "worker", "worker-2");
  auto scheduler2 = spawn(e, "scheduler", "scheduler-2");
  ASSERT_TRUE(eventually(
      [&] {
        return count("SELECT count(*) FROM outbox WHERE broadcast_id = 1 AND state IN ('pending', 'sending')") == 0 &&
               count("SELECT count(*) FROM broadcasts WHERE id = 1 AND state = 'done'") == 1;
      },
      Millis(180000)))
      << count("SELECT count(*) FROM outbox WHERE broadcast_id = 1 AND state = 'sent'") << " sent\n"
      << worker2.output().substr(0, 3000);
  EXPECT_LT(sent_at_kill, kUsers - static_cast<int64_t>(blocked.size())) << "the kill happened mid-broadcast";
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE broadcast_id = 1"), kUsers) << "each user queued once";
  auto counts = telegram.client("/client/message_counts");
  int64_t twice = 0, once = 0;
  for (auto& [chat, n] : counts.items()) {
    int64_t id = std::stoll(chat);
    if (id < 100000) continue;
    int expected_extra = (id == 100001 ? 1 : 0) + (id == 100002 ? 1 : 0);  // the preview; the status message
    int copies = n.get<int>() - expected_extra;
    if (id == 100002) copies = std::min(copies, 1);  // the status message is edited in place, not re-sent
    if (copies > 1) ++twice;
    if (copies == 1) ++once;
  }
  EXPECT_EQ(twice, 0) << "nobody got a second copy";
  int64_t ambiguous = count("SELECT count(*) FROM outbox WHERE broadcast_id = 1 AND state = 'ambiguous'");
  EXPECT_GE(once, kUsers - static_cast<int64_t>(blocked.size()) - ambiguous)
      << "every reachable user got their copy, except at most the few in flight when the sender was killed";
  EXPECT_LE(ambiguous, 1000 / 8) << "only what was in flight at the kill (the sender keeps rate / 8 calls in flight)";
  // Blocked users are marked, except one whose message was in flight at the kill (ambiguous: never resent).
  int64_t blocked_in_flight =
      count("SELECT count(*) FROM outbox WHERE broadcast_id = 1 AND state = 'ambiguous' AND chat_id % 100 = 0");
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE broadcast_id = 1 AND state = 'blocked'"),
            static_cast<int64_t>(blocked.size()) - blocked_in_flight);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE NOT reachable"),
            static_cast<int64_t>(blocked.size()) - blocked_in_flight)
      << "users who blocked the bot are marked";
  auto stats = telegram.stats();
  EXPECT_EQ(stats["global_violations"].get<int>(), 0) << stats.dump();
  EXPECT_EQ(stats["per_chat_violations"].get<int>(), 0) << stats.dump();
  auto status = admin({"status", "1"});
  EXPECT_NE(status.find("\"state\":\"done\""), std::string::npos) << status;
  ASSERT_TRUE(eventually([&] {
    for (auto& m : telegram.messages(100002))
      if (m.value("text", "").find("Broadcast #1") != std::string::npos) return true;
    return false;
  })) << "the admin's live progress message";
  worker2.signal(SIGTERM);
  scheduler2.signal(SIGTERM);
  EXPECT_EQ(worker2.wait(Millis(30000)), 0);
  EXPECT_EQ(scheduler2.wait(Millis(30000)), 0);
}

// Two auto-renewal jobs reach the same subscription at once: the second waits on the row while the first renews, and
// must not take the new expiry for one not tried yet (it did: a balance was charged twice under load).
TEST_F(SchedulerTest, AutoRenewalIsClaimedOncePerExpiryWhenTwoJobsRace) {
  vpnbot::testing::exec_sync(url, R"sql(
INSERT INTO users (id, referral_code) VALUES (1, 'u1');
INSERT INTO subscriptions (user_id, expires_at, device_limit, auto_renew, plan_id)
VALUES (1, now() + interval '10 hours', 1, true, (SELECT id FROM plans WHERE code = 'month'));)sql");
  int64_t sub = count("SELECT id FROM subscriptions WHERE user_id = 1");
  std::string expiry = vpnbot::testing::query_value_sync(url, "SELECT expires_at::text FROM subscriptions");
  auto pool = make_pool(4);
  std::optional<int64_t> first, second;
  bool second_done = false, second_waited = false;
  run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    co_await pool->transaction([&](db::Transaction& tx) -> awaitable<void> {
      first = co_await bot::claim_auto_renewal(tx, sub, expiry);
      co_await tx.exec("UPDATE subscriptions SET expires_at = expires_at + interval '30 days' WHERE id = $1", sub);
      asio::co_spawn(
          ex,
          [&]() -> awaitable<void> {
            second = co_await pool->transaction([&](db::Transaction& tx2) -> awaitable<std::optional<int64_t>> {
              co_return co_await bot::claim_auto_renewal(tx2, sub, expiry);
            });
          },
          [&](std::exception_ptr) { second_done = true; });
      // The positive event first: the second claim is waiting on this row's lock.
      for (int i = 0; i < 1000 && !second_waited; ++i) {
        auto waiting = co_await pool->exec(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE subscriptions "
            "SET auto_renew_tried_for%'");
        second_waited = waiting.get<int64_t>(0, 0) == 1;
        if (!second_waited) co_await sleep_for(Millis(10));
      }
    });
    while (!second_done) co_await sleep_for(Millis(10));
  }());
  EXPECT_TRUE(second_waited);
  EXPECT_TRUE(first.has_value());
  EXPECT_FALSE(second.has_value()) << "the renewal moved the expiry: nothing left to claim";
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE auto_renew_tried_for IS NOT NULL "
                  "AND auto_renew_tried_for < expires_at"),
            1);
}
