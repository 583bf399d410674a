#pragma once
// The shared rig of the shop's end-to-end suites (test_payments, test_gates, test_xray): the real binary (gateway,
// worker and scheduler processes) against the Telegram, payment and panel emulators on a throwaway PostgreSQL, and
// the helpers those tests share (a user's side of the chat, orders, nodes, plans, the panel contract check).
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>

#include "billing/cryptopay/provider.hpp"
#include "billing/heleket/provider.hpp"
#include "billing/jobs.hpp"
#include "billing/orders.hpp"
#include "billing/webhooks.hpp"
#include "billing/yookassa/provider.hpp"
#include "bot/routes.hpp"
#include "bot/users.hpp"
#include "core/encoding.hpp"
#include "support/build_paths.hpp"
#include "support/emulator_thread.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"
#include "support/test_node.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/remnawave/jobs.hpp"
#include "vpn/traffic.hpp"

namespace vpnbot::testing {

using nlohmann::json;
namespace route = vpnbot::bot::route;

class ShopRig : public AsyncDbTest {
 protected:
  bool eventually(const std::function<bool()>& condition, Millis timeout = Millis(60000)) {
    return vpnbot::testing::wait_until(condition, timeout);
  }
  static emulator::PaymentsEmulatorOptions payment_options(uint16_t gateway_port) {
    emulator::PaymentsEmulatorOptions o;
    o.yookassa_webhook_url = "http://127.0.0.1:" + std::to_string(gateway_port) + billing::kYooKassaWebhookPath;
    o.cryptopay_webhook_url = "http://127.0.0.1:" + std::to_string(gateway_port) + billing::kCryptoPayWebhookPath;
    return o;
  }
  std::map<std::string, std::string> env(const PaymentsThread& payments, uint16_t port) {
    const auto& o = payments.options();
    return {{"VPNBOT_DATABASE_URL", url},
            {"VPNBOT_HTTP_LISTEN", "127.0.0.1:" + std::to_string(port)},
            {"VPNBOT_PUBLIC_URL", "http://127.0.0.1:" + std::to_string(port)},
            {"VPNBOT_TELEGRAM_MODE", "off"},
            {"VPNBOT_JOB_POLL_INTERVAL_MS", "200"},
            {"VPNBOT_LEASE_TTL_MS", "3000"},
            {"VPNBOT_JOB_LEASE_MS", "5000"},
            {"VPNBOT_WORKER_CONCURRENCY", "32"},
            {"VPNBOT_LOG_LEVEL", "info"},
            {"VPNBOT_MASTER_KEY_FILE", vpnbot::testing::test_master_key_file()},
            {"VPNBOT_YOOKASSA_API_URL", payments.base_url()},
            {"VPNBOT_YOOKASSA_SHOP_ID", o.yookassa_shop_id},
            {"VPNBOT_YOOKASSA_SECRET_KEY", o.yookassa_secret_key},
            {"VPNBOT_YOOKASSA_ALLOWED_IPS", "127.0.0.1/32"},
            {"VPNBOT_TRUSTED_PROXIES", "127.0.0.1/32"},
            {"VPNBOT_HELEKET_API_URL", payments.base_url()},
            {"VPNBOT_HELEKET_MERCHANT", o.heleket_merchant},
            {"VPNBOT_HELEKET_API_KEY", o.heleket_api_key},
            {"VPNBOT_CRYPTOPAY_API_URL", payments.base_url()},
            {"VPNBOT_CRYPTOPAY_TOKEN", o.cryptopay_token}};
  }
  // The bot on: webhook mode against the Telegram emulator.
  static void with_telegram(std::map<std::string, std::string>& e, const EmulatorThread& telegram,
                            const std::string& secret) {
    e["VPNBOT_TELEGRAM_MODE"] = "webhook";
    e["VPNBOT_TELEGRAM_API_URL"] = telegram.base_url();
    e["VPNBOT_TELEGRAM_TOKEN"] = telegram.token();
    e["VPNBOT_TELEGRAM_WEBHOOK_SECRET"] = secret;
  }
  // Messages the bot sent to one user, oldest first.
  static json bot_messages_of(EmulatorThread& telegram, int64_t user) {
    json out = json::array();
    for (auto& m : telegram.messages(user))
      if (m.value("from_bot", false)) out.push_back(m);
    return out;
  }
  // A user's side of the chat in the Telegram emulator: what they send and press, and what the bot said to them.
  struct ChatUser {
    EmulatorThread& telegram;
    int64_t id;
    std::string language = "en";

    void say(const std::string& text) const {
      telegram.client("/client/send_message",
                      {{"user_id", id}, {"first_name", "U"}, {"language_code", language}, {"text", text}});
    }
    void press(int64_t message_id, const std::string& data) const {
      telegram.client("/client/press", {{"user_id", id}, {"message_id", message_id}, {"data", data}});
    }
    json messages() const { return bot_messages_of(telegram, id); }
    json last() const {
      auto all = messages();
      return all.empty() ? json::object() : all.back();
    }
    std::optional<json> find(const std::string& needle) const {
      for (auto& m : messages())
        if (shown_text(m).find(needle) != std::string::npos) return m;
      return std::nullopt;
    }
    int count_with(const std::string& needle) const {
      int n = 0;
      for (auto& m : messages()) n += shown_text(m).find(needle) != std::string::npos;
      return n;
    }
  };
  vpnbot::testing::Process spawn(std::map<std::string, std::string> e, const std::string& roles,
                                 const std::string& instance) {
    e["VPNBOT_ROLES"] = roles;
    e["VPNBOT_INSTANCE_ID"] = instance;
    if (roles != "gateway" && roles.find("gateway") == std::string::npos) e["VPNBOT_HTTP_LISTEN"] = "127.0.0.1:0";
    return vpnbot::testing::spawn_vpnbot({"serve"}, e);
  }
  void wait_healthy(uint16_t port, const vpnbot::testing::Process& p) {
    ASSERT_TRUE(eventually([&] {
      return vpnbot::testing::http_request("GET", "http://127.0.0.1:" + std::to_string(port) + "/healthz", "").first ==
             200;
    })) << p.output();
  }
  // One all-in-one bot process (gateway, worker, scheduler) with a WireGuard node, against the Telegram and payment
  // emulators: what the bot's end-to-end tests share. Settings go into `env` before start_bot().
  struct BotRig {
    BotRig(ShopRig& test, const std::string& subnet, const std::string& webhook_secret)
        : port(vpnbot::testing::free_port()), payments(payment_options(port)) {
      test.add_node(subnet);
      env = test.env(payments, port);
      with_telegram(env, telegram, webhook_secret);
      env["VPNBOT_TELEGRAM_PRIVATE_CHAT_INTERVAL_MS"] = "50";
    }
    // `vpnbot admin ARGS` with the bot's settings: its exit code and output.
    std::pair<int, std::string> admin(std::vector<std::string> args) const {
      args.insert(args.begin(), "admin");
      auto p = vpnbot::testing::spawn_vpnbot(args, env);
      int rc = p.wait(Millis(20000));
      return std::make_pair(rc, p.output());
    }
    uint16_t port;
    PaymentsThread payments;
    EmulatorThread telegram;
    std::map<std::string, std::string> env;
    vpnbot::testing::Process serve;
  };
  void start_bot(BotRig& bot) {
    bot.serve = spawn(bot.env, "gateway,worker,scheduler", "all-in-one");
    wait_healthy(bot.port, bot.serve);
    ASSERT_TRUE(eventually([&] { return bot.telegram.stats()["webhook_url"] != ""; })) << bot.serve.output();
  }
  void add_node(const std::string& subnet) {
    auto pool = make_pool(2);
    auto box = vpn::SecretBox::from_file(vpnbot::testing::test_master_key_file(), false);
    vpn::VpnStore store(*pool, box);
    vpn::NodeSpec spec = vpnbot::testing::test_node("test-node", subnet);
    spec.capacity = 5000;
    run(store.add_node(spec));
  }
  // Users with orders whose provider payments the workers will create (as the bot does after "Confirm").
  // SIGKILLs workers[0] once a fifth of the orders are paid, starts a replacement, and waits until every order is
  // paid and nothing is left to deliver or run. Returns how many orders were paid at the kill.
  int64_t kill_a_worker_mid_batch_and_finish(std::vector<vpnbot::testing::Process>& workers,
                                             const std::map<std::string, std::string>& e, PaymentsThread& payments,
                                             int orders) {
    EXPECT_TRUE(eventually([&] { return count("SELECT count(*) FROM orders WHERE state = 'paid'") >= orders / 5; }));
    workers[0].signal(SIGKILL);
    EXPECT_EQ(workers[0].wait(Millis(5000)), 128 + SIGKILL);
    int64_t paid_at_kill = count("SELECT count(*) FROM orders WHERE state = 'paid'");
    workers.push_back(spawn(e, "worker", "worker-" + std::to_string(workers.size())));
    EXPECT_TRUE(eventually(
        [&] {
          return count("SELECT count(*) FROM orders WHERE state = 'paid'") == orders &&
                 payments.client("/client/stats")["pending_deliveries"].get<int>() == 0 &&
                 count("SELECT count(*) FROM jobs WHERE state IN ('pending', 'running')") == 0;
        },
        Millis(240000)))
        << count("SELECT count(*) FROM orders WHERE state = 'paid'") << " paid\n"
        << payments.client("/client/stats").dump() << "\n"
        << workers[1].output().substr(0, 4000);
    return paid_at_kill;
  }
  // SIGTERM to the gateway and every live worker (workers[0] was killed): each exits 0.
  static void stop_all(vpnbot::testing::Process& gateway, std::vector<vpnbot::testing::Process>& workers) {
    gateway.signal(SIGTERM);
    EXPECT_EQ(gateway.wait(Millis(20000)), 0);
    for (size_t i = 1; i < workers.size(); ++i) {
      workers[i].signal(SIGTERM);
      EXPECT_EQ(workers[i].wait(Millis(20000)), 0) << workers[i].output().substr(0, 2000);
    }
  }
  // Providers take turns in the order given.
  std::vector<int64_t> create_orders(int n, int64_t first_user, std::optional<int64_t> referrer,
                                     const std::vector<std::string>& providers = {"yookassa", "heleket"},
                                     const std::string& plan_code = "month") {
    auto pool = make_pool(4);
    billing::BillingOptions options;
    std::vector<int64_t> ids;
    for (int i = 0; i < n; ++i) {
      int64_t user = first_user + i;
      std::string provider = providers[i % providers.size()];
      ids.push_back(run(pool->transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
        co_await tx.exec("INSERT INTO users (id, referral_code, referrer_id) VALUES ($1, $2, $3)", user,
                         "u" + std::to_string(user), referrer);
        int64_t month = (co_await tx.exec("SELECT id FROM plans WHERE code = $1", plan_code)).get<int64_t>(0, 0);
        auto order = co_await billing::Orders::create(tx, user, month, provider, options);
        co_await billing::enqueue_create_payment(tx, order.id);
        co_return order.id;
      })));
    }
    return ids;
  }
  // YooKassa autopayments with 54-FZ receipts (the emulator refuses a payment without one), on a fast scheduler clock
  // (1 s = 5 h, a tick an hour; renewals 6 h ahead of expiry) and a one-day plan, so periods pass in seconds.
  // Returns the plan's id.
  int64_t with_autopayments(std::map<std::string, std::string>& e, PaymentsThread& payments) {
    e["VPNBOT_YOOKASSA_SAVE_CARDS"] = "true";
    e["VPNBOT_YOOKASSA_VAT_CODE"] = "1";
    e["VPNBOT_YOOKASSA_RECEIPT_EMAIL"] = "receipts@example.com";
    e["VPNBOT_SCHEDULER_TIME_SCALE"] = "18000";
    e["VPNBOT_SCHEDULER_TICK_MS"] = "200";
    e["VPNBOT_SCHEDULER_TIME_ORIGIN_MS"] =
        std::to_string(std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count());
    e["VPNBOT_AUTO_RENEW_BEFORE_MS"] = std::to_string(6LL * 3600 * 1000);
    e["VPNBOT_TELEGRAM_PRIVATE_CHAT_INTERVAL_MS"] = "50";
    payments.client("/client/config", {{"receipts_required", true}});
    return std::stoll(vpnbot::testing::query_value_sync(
        url,
        "INSERT INTO plans (code, title, days, price_rub, price_stars, device_limit, sort) VALUES ('day', "
        "'{\"en\": \"1 day\"}', 1, 1000, 5, 1, 1) RETURNING id"));
  }
  // The user ticks "save the card" at checkout, confirms and pays on the checkout page (`before_paying` runs just
  // before: the scheduler's fast clock starts the card's periods at the payment). Returns the menu message.
  int64_t buy_saving_the_card(EmulatorThread& telegram, int64_t user, int64_t plan, const vpnbot::testing::Process& p,
                              const std::function<void()>& before_paying = {}) {
    auto with_text = [&](const std::string& needle) -> std::optional<json> {
      for (auto& m : bot_messages_of(telegram, user))
        if (shown_text(m).find(needle) != std::string::npos) return m;
      return std::nullopt;
    };
    telegram.client("/client/send_message", {{"user_id", user}, {"first_name", "Card"}, {"text", "/start"}});
    EXPECT_TRUE(eventually([&] { return with_text("Main menu").has_value(); })) << p.output().substr(0, 3000);
    int64_t menu = with_text("Main menu")->at("message_id");
    telegram.client("/client/press",
                    {{"user_id", user}, {"message_id", menu}, {"data", route::payment_method(plan, "yookassa", true)}});
    EXPECT_TRUE(eventually([&] { return with_text("The card will be saved").has_value(); }))
        << "the confirm screen states the terms once the box is ticked";
    telegram.client("/client/press",
                    {{"user_id", user}, {"message_id", menu}, {"data", route::pay(plan, "yookassa", true)}});
    EXPECT_TRUE(eventually([&] { return with_text("Tap the button to pay").has_value(); }))
        << p.output().substr(0, 3000);
    std::string checkout = with_text("Tap the button to pay")->at("reply_markup")["inline_keyboard"][0][0]["url"];
    auto page = vpnbot::testing::http_request("GET", checkout, "");
    EXPECT_NE(page.second.find("will be saved"), std::string::npos) << page.second;
    if (before_paying) before_paying();
    vpnbot::testing::http_request("POST", checkout + "/pay", "");
    EXPECT_TRUE(eventually([&] {
      return count("SELECT count(*) FROM saved_payment_methods WHERE user_id = " + std::to_string(user)) == 1;
    })) << p.output().substr(0, 4000);
    return menu;
  }
  // An Xray location on the panel emulator, and a plan whose first config is made there (50 GB, 2 devices).
  int64_t add_panel_node(RemnawaveThread& panel, int api_version = 2) {
    auto pool = make_pool(2);
    auto box = vpn::SecretBox::from_file(vpnbot::testing::test_master_key_file(), false);
    remnawave::PanelNodeSpec spec;
    spec.name = "xray-nl";
    spec.country_code = "NL";
    spec.location = "Amsterdam";
    spec.panel_url = panel.base_url();
    spec.token = panel.options().token;
    spec.squads = {panel.options().squads.begin()->first};
    spec.api_version = api_version;
    return run(pool->transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
      auto node = co_await remnawave::Accounts::add_node(tx, box, spec);
      co_return node.id;
    }));
  }
  void add_xray_plan() {
    vpnbot::testing::exec_sync(
        url,
        "INSERT INTO plans (code, title, days, price_rub, price_stars, device_limit, sort, traffic_gb, panel_devices, "
        "backend) VALUES ('xray', '{\"en\": \"Xray month\"}', 30, 19900, 100, 3, 5, 50, 2, 'remnawave')");
  }
  // The panel user of a vpnbot user, as the panel shows it.
  static json panel_user_of(RemnawaveThread& panel, int64_t user) {
    for (auto& u : panel.users())
      if (u["telegramId"] == user) return u;
    return nullptr;
  }
  std::string expiry_of(int64_t user) {
    return vpnbot::testing::query_value_sync(
        url,
        "SELECT to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM subscriptions "
        "WHERE user_id = " +
            std::to_string(user));
  }
  void in_transaction(const std::function<awaitable<void>(db::Transaction&)>& work) {
    auto pool = make_pool(2);
    run(pool->transaction([&](db::Transaction& tx) -> awaitable<void> { co_await work(tx); }));
  }
  // Every request vpnbot sent the panel and every answer the emulator gave, against the published contract.
  // client_only: vpnbot made every request, so each must conform (not only be refused where the contract refuses).
  // `package`: the contract of the panel's API generation, as scripts/setup installs it (3.x under an alias).
  static void expect_panel_exchanges_conform(RemnawaveThread& panel, bool client_only,
                                             const std::string& package = "@remnawave/backend-contract") {
    std::string modules = std::string(kContractModules) + "/" + package;
    if (!std::filesystem::exists(modules + "/package.json")) {
      ADD_FAILURE() << "the Remnawave contract package is not installed in " << modules
                    << " (scripts/setup --with-test-tools installs it from the npm registry)";
      return;
    }
    std::string file = ::testing::TempDir() + "/remnawave-exchanges.json";
    std::ofstream(file) << panel.client("/client/remnawave/exchanges")["exchanges"].dump();
    std::string command = "node " + std::string(kSourceDir) + "/tests/contract/check_remnawave.js" +
                          (client_only ? " --client " : " ") + modules + " " + file + " 2>&1";
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    int status = pclose(pipe);
    EXPECT_EQ(status, 0) << output;
    EXPECT_NE(output.find("\"contract\""), std::string::npos) << output;
    std::cout << "remnawave contract check: " << output;
  }
  int64_t messages_with(EmulatorThread& telegram, int64_t user, const std::string& needle) {
    int64_t n = 0;
    for (auto& m : bot_messages_of(telegram, user))
      if (shown_text(m).find(needle) != std::string::npos) ++n;
    return n;
  }
  // Every YooKassa payment the emulator took carries a 54-FZ receipt adding up to its amount; returns how many.
  static int64_t payments_with_correct_receipts(PaymentsThread& payments) {
    int64_t n = 0;
    json listed = payments.client("/client/payments")["payments"];
    for (const auto& p : listed) {
      if (p["provider"] != "yookassa") continue;
      EXPECT_TRUE(p["receipt"].is_object()) << p.dump();
      if (!p["receipt"].is_object()) continue;
      EXPECT_EQ(p["receipt"]["items"][0]["amount"]["value"], p["object"]["amount"]["value"]) << p.dump();
      EXPECT_EQ(p["receipt"]["customer"]["email"], "receipts@example.com");
      ++n;
    }
    return n;
  }
};

}  // namespace vpnbot::testing

// What every shop suite names (each suite is one translation unit including this rig).
using namespace vpnbot;
namespace route = vpnbot::bot::route;
using nlohmann::json;
using vpnbot::testing::EmulatorThread;
using vpnbot::testing::PaymentsThread;
using vpnbot::testing::RemnawaveThread;
using vpnbot::testing::shown_text;
