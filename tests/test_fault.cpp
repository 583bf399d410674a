// The fault suite: the whole system as deployed (2 gateways behind a load balancer, 3 workers, 2 schedulers, a
// wg-agent with wireguard-go in its own network namespace, one PostgreSQL) under a load of Telegram updates,
// payment webhooks delivered many times out of order and a broadcast, while gateways, workers and schedulers are
// SIGKILLed at random moments and PostgreSQL is restarted twice. At the end: every payment applied exactly once,
// every update handled once and answered, nobody got a broadcast twice, no tunnel address given twice, and the
// WireGuard interface holds exactly the desired peers.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <set>
#include <sstream>

#include "billing/heleket/provider.hpp"
#include "billing/jobs.hpp"
#include "billing/orders.hpp"
#include "billing/webhooks.hpp"
#include "billing/yookassa/provider.hpp"
#include "core/process.hpp"
#include "support/build_paths.hpp"
#include "support/emulator_thread.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"
#include "support/tcp_proxy.hpp"
#include "vpn/store.hpp"

using namespace vpnbot;
using nlohmann::json;
using vpnbot::testing::AsyncDbTest;
using vpnbot::testing::EmulatorThread;
using vpnbot::testing::PaymentsThread;
using vpnbot::testing::Process;

namespace {

std::string netns_unavailable() {
  if (geteuid() != 0) return "needs root";
  if (!std::filesystem::exists("/dev/net/tun")) return "needs /dev/net/tun";
  if (run_shell("command -v wireguard-go && command -v wg && command -v ip") != 0)
    return "needs wireguard-go, wg and ip";
  return "";
}

// One role of the deployment; respawned under a new instance id after each kill, as an orchestrator restarts it.
struct Member {
  std::string name, roles;
  uint16_t http_port = 0;
  int generation = 0;
  Process process;
};

}  // namespace

class FaultTest : public AsyncDbTest {
 protected:
  static constexpr int kUsers = 200;
  static constexpr int64_t kFirstUser = 700000;
  static constexpr int kCopies = 5;
  // Users who only receive the broadcast: enough that it is still going when processes die (1000 msg/s).
  static constexpr int kAudienceOnly = 4000;
  static constexpr int64_t kFirstAudienceUser = 800000;
  const std::string kBroadcastText = "Fault suite news: new servers";

  std::map<std::string, std::string> env_for(const Member& m) {
    auto e = base_env;
    e["VPNBOT_ROLES"] = m.roles;
    e["VPNBOT_INSTANCE_ID"] = m.name + "-" + std::to_string(m.generation);
    e["VPNBOT_HTTP_LISTEN"] = "127.0.0.1:" + std::to_string(m.http_port);
    return e;
  }
  void spawn(Member& m) {
    ++m.generation;
    m.process = vpnbot::testing::spawn_vpnbot({"serve"}, env_for(m));
  }
  std::string dump() {
    return vpnbot::testing::query_value_sync(
        url,
        "SELECT 'orders ' || (SELECT string_agg(state || ':' || n, ' ') FROM (SELECT state, count(*) n FROM orders "
        "GROUP BY 1) o) || ' | jobs ' || coalesce((SELECT string_agg(kind || '/' || state || ':' || n, ' ') FROM "
        "(SELECT kind, state, count(*) n FROM jobs WHERE state <> 'done' GROUP BY 1, 2) j), '-') || ' | inbox ' || "
        "(SELECT string_agg(state || ':' || n, ' ') FROM (SELECT state, count(*) n FROM tg_inbox GROUP BY 1) i) || "
        "' | outbox ' || (SELECT string_agg(state || ':' || n, ' ') FROM (SELECT state, count(*) n FROM outbox GROUP "
        "BY 1) x) || ' | broadcasts ' || coalesce((SELECT string_agg(state, ' ') FROM broadcasts), '-')");
  }
  // Users and their orders as the bot creates them after "Confirm" (the workers then create provider payments).
  void create_orders() {
    auto pool = make_pool(4);
    billing::BillingOptions options;
    run(pool->transaction([&](db::Transaction& tx) -> awaitable<void> {
      int64_t month = (co_await tx.exec("SELECT id FROM plans WHERE code = 'month'")).get<int64_t>(0, 0);
      for (int i = 0; i < kUsers; ++i) {
        int64_t user = kFirstUser + i;
        // Named before co_await: g++ 12 may destroy such temporaries twice (see core/asio.hpp).
        std::string code = "f" + std::to_string(user);
        std::string provider = i % 2 ? "heleket" : "yookassa";
        co_await tx.exec("INSERT INTO users (id, referral_code, started_at) VALUES ($1, $2, now())", user, code);
        auto order = co_await billing::Orders::create(tx, user, month, provider, options);
        co_await billing::enqueue_create_payment(tx, order.id);
      }
    }));
  }

  std::map<std::string, std::string> base_env;
};

TEST_F(FaultTest, LoadWithRandomKillsAndPostgresRestartsLosesNothingAndRepeatsNothing) {
  if (vpnbot::testing::via_pgbouncer()) GTEST_SKIP() << "restarts PostgreSQL itself: run directly only";
  std::vector<Member> members;
  for (auto [name, roles] : std::vector<std::pair<std::string, std::string>>{{"gateway-a", "gateway"},
                                                                             {"gateway-b", "gateway"},
                                                                             {"worker-a", "worker"},
                                                                             {"worker-b", "worker"},
                                                                             {"worker-c", "worker"},
                                                                             {"scheduler-a", "scheduler"},
                                                                             {"scheduler-b", "scheduler"}})
    members.push_back(Member{name, roles, vpnbot::testing::free_port()});
  vpnbot::testing::TcpProxy balancer({members[0].http_port, members[1].http_port});
  std::string public_url = "http://127.0.0.1:" + std::to_string(balancer.port());

  emulator::TelegramEmulatorOptions telegram_options;
  telegram_options.global_per_second = 1000;  // paid-broadcast limits, so the run takes seconds, not minutes
  telegram_options.private_chat_interval = Millis(50);
  EmulatorThread telegram(telegram_options);
  telegram.client("/client/users", {{"from", kFirstUser}, {"count", kUsers}});
  telegram.client("/client/users", {{"from", kFirstAudienceUser}, {"count", kAudienceOnly}});
  vpnbot::testing::exec_sync(url,
                             "INSERT INTO users (id, referral_code, started_at) SELECT g, 'a' || g, now() FROM "
                             "generate_series(" +
                                 std::to_string(kFirstAudienceUser) + ", " +
                                 std::to_string(kFirstAudienceUser + kAudienceOnly - 1) + ") g");
  emulator::PaymentsEmulatorOptions payment_options;
  payment_options.yookassa_webhook_url = public_url + billing::kYooKassaWebhookPath;
  payment_options.webhook_max_attempts = 40;  // the real services keep retrying for a day
  PaymentsThread payments(payment_options);

  // The VPN node: a namespace with wireguard-go driven by a wg-agent (where this box allows it).
  std::string no_netns = netns_unavailable();
  std::string ns = "vb-fault-" + std::to_string(getpid()), ifname = "wgf" + std::to_string(getpid() % 100000);
  struct NamespaceGuard {
    std::string name;
    bool made = false;
    ~NamespaceGuard() {
      if (!made) return;
      remove_network_namespace(name);
    }
  } guard{ns};
  if (no_netns.empty()) guard.made = run_shell("ip netns add " + ns) == 0;
  {
    auto pool = make_pool(2);
    auto box = vpn::SecretBox::from_file(vpnbot::testing::test_master_key_file(), false);
    vpn::VpnStore store(*pool, box);
    vpn::NodeSpec spec{"fault-node", "NL", "Amsterdam", "198.18.0.1", 51820, ifname, "10.90.0.0/22"};
    spec.capacity = 1000;
    run(store.add_node(spec));
  }
  create_orders();

  base_env = {{"VPNBOT_DATABASE_URL", url},
              {"VPNBOT_PUBLIC_URL", public_url},
              {"VPNBOT_TELEGRAM_MODE", "webhook"},
              {"VPNBOT_TELEGRAM_API_URL", telegram.base_url()},
              {"VPNBOT_TELEGRAM_TOKEN", telegram.token()},
              {"VPNBOT_TELEGRAM_WEBHOOK_SECRET", "fault-suite-secret"},
              {"VPNBOT_TELEGRAM_GLOBAL_RATE", "1000"},
              {"VPNBOT_TELEGRAM_PRIVATE_CHAT_INTERVAL_MS", "50"},
              {"VPNBOT_TELEGRAM_SEND_TIMEOUT_MS", "2000"},
              {"VPNBOT_JOB_POLL_INTERVAL_MS", "200"},
              {"VPNBOT_LEASE_TTL_MS", "3000"},
              {"VPNBOT_JOB_LEASE_MS", "5000"},
              {"VPNBOT_WORKER_CONCURRENCY", "16"},
              {"VPNBOT_LOG_LEVEL", "warn"},
              {"VPNBOT_MASTER_KEY_FILE", vpnbot::testing::test_master_key_file()},
              {"VPNBOT_YOOKASSA_API_URL", payments.base_url()},
              {"VPNBOT_YOOKASSA_SHOP_ID", payment_options.yookassa_shop_id},
              {"VPNBOT_YOOKASSA_SECRET_KEY", payment_options.yookassa_secret_key},
              {"VPNBOT_YOOKASSA_ALLOWED_IPS", "127.0.0.1/32"},
              {"VPNBOT_HELEKET_API_URL", payments.base_url()},
              {"VPNBOT_HELEKET_MERCHANT", payment_options.heleket_merchant},
              {"VPNBOT_HELEKET_API_KEY", payment_options.heleket_api_key}};
  for (auto& m : members) spawn(m);
  std::string agent_state = ::testing::TempDir() + "/fault-agent-" + std::to_string(getpid());
  auto start_agent = [&] {
    auto e = base_env;
    e["VPNBOT_INSTANCE_ID"] = "agent-" + std::to_string(Clock::now().time_since_epoch().count());
    return vpnbot::testing::spawn_process(
        "/usr/bin/ip",
        {"netns", "exec", ns, vpnbot::testing::kVpnbotBinary, "wg-agent", "--node", "fault-node", "--state-dir",
         agent_state, "--poll-ms", "300", "--full-reconcile-ms", "3000", "--stats-ms", "2000"},
        e);
  };
  Process agent;
  if (guard.made) agent = start_agent();
  ASSERT_TRUE(vpnbot::testing::wait_until([&] { return telegram.stats()["webhook_url"] != ""; }))
      << members[0].process.output();
  ASSERT_TRUE(vpnbot::testing::wait_until([&] {
    return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == kUsers;
  })) << dump();

  // The load, released in waves while the chaos runs.
  auto admin = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"admin", "--json", "broadcast"});
    auto p = vpnbot::testing::spawn_vpnbot(args, base_env);
    EXPECT_EQ(p.wait(Millis(30000)), 0) << p.output();
  };
  int updates_sent = 0;
  auto send_wave = [&](const std::string& text) {
    for (int i = 0; i < kUsers; ++i) {
      telegram.client("/client/send_message",
                      {{"user_id", kFirstUser + i}, {"first_name", "F" + std::to_string(i)}, {"text", text}});
      ++updates_sent;
    }
  };
  std::mt19937 random(static_cast<unsigned>(getpid()));
  int kills = 0, postgres_restarts = 0, agent_kills = 0;
  auto chaos_step = [&] {
    auto& victim = members[random() % members.size()];
    victim.process.signal(SIGKILL);
    victim.process.wait(Millis(5000));
    ++kills;
    spawn(victim);
  };
  auto restart_postgres = [&] {
    vpnbot::testing::cluster().stop();
    std::this_thread::sleep_for(Millis(1000 + random() % 1000));
    vpnbot::testing::cluster().start();
    ++postgres_restarts;
  };
  auto pause = [&] { std::this_thread::sleep_for(Millis(700 + random() % 1500)); };

  send_wave("/start");
  chaos_step();
  payments.client("/client/config", {{"concurrency", 16}});
  payments.client("/client/settle_all", {{"provider", "yookassa"}, {"status", "succeeded"}, {"copies", kCopies}});
  payments.client("/client/settle_all", {{"provider", "heleket"}, {"status", "paid"}, {"copies", kCopies}});
  // PostgreSQL goes away while 1000 payment webhooks are being delivered and applied.
  int64_t paid_before_restart = count("SELECT count(*) FROM orders WHERE state = 'paid'");
  restart_postgres();
  send_wave("hello");
  chaos_step();
  admin({"create", "--text", kBroadcastText, "--audience", "all"});
  admin({"start", "1"});
  pause();
  int64_t broadcast_sent_before_restart =
      count("SELECT count(*) FROM outbox WHERE broadcast_id = 1 AND state = 'sent'");
  restart_postgres();
  for (int i = 0; i < 4; ++i) {
    chaos_step();
    pause();
  }
  if (agent.pid) {
    agent.signal(SIGKILL);
    agent.wait(Millis(5000));
    ++agent_kills;
    agent = start_agent();
  }
  for (int i = 0; i < 4; ++i) {
    pause();
    chaos_step();
  }

  // Everything drains with every member back up.
  ASSERT_TRUE(vpnbot::testing::wait_until(
      [&] {
        return count("SELECT count(*) FROM orders WHERE state = 'paid'") == kUsers &&
               count("SELECT count(*) FROM tg_inbox WHERE state NOT IN ('done', 'skipped')") == 0 &&
               count("SELECT count(*) FROM tg_inbox") >= updates_sent &&
               count("SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')") == 0 &&
               count("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')") == 0 &&
               count("SELECT count(*) FROM broadcasts WHERE state = 'done'") == 1 &&
               payments.client("/client/stats")["pending_deliveries"].get<int>() == 0;
      },
      Millis(300000)))
      << dump() << "\n"
      << payments.client("/client/stats").dump() << "\n"
      << members[2].process.output().substr(0, 4000);
  std::cout << "[  NOTE    ] " << kills << " SIGKILLs of gateways/workers/schedulers, " << agent_kills
            << " of the wg-agent, " << postgres_restarts << " PostgreSQL restarts; " << paid_before_restart
            << " orders paid at the first restart, " << broadcast_sent_before_restart
            << " broadcast copies sent at the second\n";
  EXPECT_LT(paid_before_restart, kUsers) << "the first restart hit payments in progress";
  EXPECT_LT(broadcast_sent_before_restart, kUsers + kAudienceOnly) << "the second restart hit the broadcast";

  // Every payment applied exactly once.
  auto stats = payments.client("/client/stats");
  EXPECT_EQ(stats["webhooks_delivered"].get<int>(), kUsers * kCopies) << stats.dump();
  EXPECT_EQ(stats["webhooks_dropped"].get<int>(), 0) << stats.dump();
  EXPECT_EQ(count("SELECT count(*) FROM payment_events"), kUsers) << "copies collapse into one event per payment";
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), kUsers);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE expires_at > now() + interval '31 days'"), 0)
      << "no subscription was extended twice";
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE expires_at < now() + interval '29 days'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'dead'"), 0) << dump();

  // Every update handled once: each "hello" got its one reply queued once and delivered at least once (a reply in
  // flight at a kill is sent again); the broadcast reached nobody twice (bulk: at most once).
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox"), updates_sent);
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE state = 'done'"), updates_sent);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE payload->>'text' LIKE 'I did not understand%'"), kUsers);
  int64_t ambiguous = count("SELECT count(*) FROM outbox WHERE state = 'ambiguous'");
  int unknown_replies = 0, broadcast_copies = 0, twice = 0, unanswered = 0, replies_resent = 0;
  for (int i = 0; i < kUsers; ++i) {
    int replies = 0, news = 0;
    for (auto& m : telegram.messages(kFirstUser + i)) {
      if (!m.value("from_bot", false)) continue;
      std::string text = m.value("text", "");
      replies += text.rfind("I did not understand", 0) == 0;
      news += text.find(kBroadcastText) != std::string::npos;
    }
    twice += news > 1;
    unanswered += replies == 0;
    replies_resent += replies > 1;
    unknown_replies += std::min(replies, 1);
    broadcast_copies += news;
  }
  EXPECT_EQ(twice, 0) << "no user got the broadcast twice";
  EXPECT_EQ(unanswered, 0) << "every user got the reply to their message";
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE delivery = 'at_least_once' AND state = 'ambiguous'"), 0)
      << "no reply was given up";
  auto counts = telegram.client("/client/message_counts");
  for (auto& [chat, n] : counts.items()) {
    if (std::stoll(chat) < kFirstAudienceUser) continue;
    twice += n.get<int>() > 1;  // they receive nothing but the broadcast
    broadcast_copies += n.get<int>();
  }
  EXPECT_GE(unknown_replies + broadcast_copies, 2 * kUsers + kAudienceOnly - ambiguous)
      << "everything was delivered except at most what was in flight at a kill (" << ambiguous << " ambiguous)";
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE broadcast_id = 1"), kUsers + kAudienceOnly)
      << "each recipient queued once";
  std::cout << "[  NOTE    ] " << ambiguous << " bulk messages ambiguous (in flight at a kill: never resent), "
            << replies_resent << " users got a reply twice (in flight at a kill: resent), "
            << count("SELECT count(*) FROM outbox WHERE state = 'sent'") << " sent\n";
  auto telegram_stats = telegram.stats();
  EXPECT_EQ(telegram_stats["global_violations"].get<int>(), 0) << telegram_stats.dump();

  // No tunnel address given twice; one config per paid order.
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE state = 'active'"), kUsers);
  EXPECT_EQ(count("SELECT count(*) FROM (SELECT node_id, address FROM vpn_peers WHERE NOT address_released GROUP BY "
                  "1, 2 HAVING count(*) > 1) d"),
            0);

  // The interface holds exactly the desired peers.
  if (!guard.made) {
    std::cout << "[  NOTE    ] wg-agent part skipped, not passed: " << no_netns << "\n";
  } else {
    std::set<std::string> desired;
    std::istringstream keys(vpnbot::testing::query_value_sync(
        url, "SELECT string_agg(public_key, ' ') FROM vpn_peers WHERE state = 'active'"));
    for (std::string k; keys >> k;) desired.insert(k);
    std::set<std::string> applied;
    EXPECT_TRUE(vpnbot::testing::wait_until(
        [&] {
          applied.clear();
          std::istringstream live(shell_output("ip netns exec " + ns + " wg show " + ifname + " peers"));
          for (std::string k; live >> k;) applied.insert(k);
          return applied == desired;
        },
        Millis(30000)))
        << applied.size() << " peers on the interface, " << desired.size() << " desired\n"
        << agent.output().substr(0, 3000);
  }
  for (auto& m : members) m.process.signal(SIGTERM);
  for (auto& m : members) EXPECT_EQ(m.process.wait(Millis(30000)), 0) << m.name << ": " << m.process.output();
  if (agent.pid) agent.signal(SIGTERM);
}
