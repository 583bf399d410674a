// The admin panel and the admin CLI against a real PostgreSQL: every admin route refused to non-admins (walked
// from the bot's own route table), every panel action applied and audited, statistics checked on 100k seeded
// users with their query plans, and every `vpnbot admin` subcommand run as a process.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>

#include "admin/cli.hpp"
#include "billing/orders.hpp"
#include "bot/bot.hpp"
#include "bot/callback.hpp"
#include "broadcast/broadcasts.hpp"
#include "ops/backup.hpp"
#include "ops/stats.hpp"
#include "support/bot_harness.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"
#include "telegram/outbox.hpp"
#include "vpn/store.hpp"

using namespace vpnbot;
using nlohmann::json;
using vpnbot::testing::AsyncDbTest;

namespace {

constexpr int64_t kAdminId = 900, kTargetId = 100, kOtherId = 200;

}  // namespace

class AdminTest : public vpnbot::testing::BotHarness {
 protected:
  void SetUp() override {
    AsyncDbTest::SetUp();
    bot::BotOptions options;
    options.bot_username = "vpn_test_bot";
    options.admin_ids = {kAdminId};
    start_bot(options);
    for (int64_t id : {kAdminId, kTargetId, kOtherId}) send_text(id, "/start");
    // The target has a paid Stars order and a paid balance order (both refundable from the panel), a node exists,
    // a promo code exists, a broadcast draft exists.
    run(pool->transaction([&](db::Transaction& tx) -> awaitable<void> {
      billing::BillingOptions billing;
      auto plan = co_await billing::Plans::by_code(tx, "month");
      auto stars = co_await billing::Orders::create(tx, kTargetId, plan->id, "stars", billing);
      co_await billing::Orders::apply_payment(tx, stars.id, "stars", "charge-1", stars.amount, "XTR", false, billing);
      billing::NewPromo promo;
      promo.code = "SPRING";
      promo.kind = "percent";
      promo.value = 10;
      co_await billing::Promos::create(tx, promo);
      broadcast::BroadcastSpec spec;
      spec.text = "hello";
      co_await broadcast::Broadcasts::create(tx, spec);
    }));
    add_node();
  }

  // Every row of the tables an admin action could change, as one text: equal before and after means nothing moved.
  std::string state_snapshot() {
    return vpnbot::testing::query_value_sync(
        url,
        "SELECT concat_ws('|', "
        "(SELECT string_agg(id || ':' || banned, ',' ORDER BY id) FROM users), "
        "(SELECT string_agg(user_id || ':' || expires_at, ',' ORDER BY user_id) FROM subscriptions), "
        "(SELECT string_agg(user_id || ':' || balance || ':' || points, ',' ORDER BY user_id) FROM accounts), "
        "(SELECT count(*) FROM ledger), (SELECT string_agg(code || ':' || active, ',' ORDER BY code) FROM plans), "
        "(SELECT string_agg(code || ':' || active, ',' ORDER BY code) FROM promo_codes), "
        "(SELECT string_agg(name || ':' || state, ',') FROM vpn_nodes), "
        "(SELECT string_agg(id || ':' || state, ',' ORDER BY id) FROM broadcasts), "
        "(SELECT string_agg(id || ':' || state, ',' ORDER BY id) FROM orders), (SELECT count(*) FROM jobs), "
        "(SELECT count(*) FROM admin_audit), (SELECT string_agg(enabled::text, ',') FROM maintenance), "
        "(SELECT string_agg(name || ':' || plan_percent, ',' ORDER BY name) FROM promo_groups), "
        "(SELECT string_agg(id || ':' || promo_group_id, ',' ORDER BY id) FROM users))");
  }
};

// One example of every admin route with real targets; the test fails when a route is added without a row here.
std::map<std::string, std::vector<std::string>> admin_route_examples(int64_t stars_order, int64_t broadcast_id) {
  std::string user = std::to_string(kTargetId), order = std::to_string(stars_order), bc = std::to_string(broadcast_id);
  return {{"home", {}},
          {"st", {}},
          {"find", {}},
          {"u", {user}},
          {"gd", {user, "30"}},
          {"ban", {user}},
          {"unban", {user}},
          {"bal", {user}},
          {"rf", {order}},
          {"rfy", {order}},
          {"plans", {}},
          {"pa", {"month", "0"}},
          {"padd", {}},
          {"pedit", {}},
          {"promos", {}},
          {"po", {"SPRING", "0"}},
          {"poadd", {}},
          {"nodes", {}},
          {"ns", {"nl-1", "disabled"}},
          {"bc", {}},
          {"bcn", {"all"}},
          {"bcs", {bc}},
          {"bcgo", {bc}},
          {"bcp", {bc}},
          {"bcx", {bc}},
          {"audit", {}},
          {"mt", {}},
          {"mts", {"1"}},
          {"grp", {}},
          {"grpadd", {}},
          {"grpset", {}},
          {"gifts", {}},
          {"tickets", {}},
          {"trf", {}},
          {"ta", {"1", "0"}}};
}

TEST_F(AdminTest, EveryAdminRouteIsRefusedToNonAdminsAndChangesNothing) {
  auto routes = admin_route_examples(1, 1);
  std::set<std::string> covered;
  for (const auto& [name, args] : routes) covered.insert(name);
  ASSERT_EQ(covered, bot::Bot::admin_actions()) << "every admin route needs a row in admin_route_examples";

  std::string before = state_snapshot();
  int64_t mark = last_outbox_id();
  for (int64_t user : {kOtherId, kTargetId}) {
    for (const auto& [name, args] : routes) {
      std::vector<std::string> parts{name};
      parts.insert(parts.end(), args.begin(), args.end());
      press(user, bot::encode_callback("adm", parts));
    }
    send_text(user, "/admin");
  }
  // A prompt left open by someone who is no longer an admin is not acted on either.
  for (const char* prompt : {R"({"await": "admin_balance", "user": 100})", R"({"await": "admin_find"})",
                             R"({"await": "admin_plan"})", R"({"await": "admin_plan_set"})",
                             R"({"await": "admin_promo"})", R"({"await": "admin_broadcast", "audience": "all"})",
                             R"({"await": "admin_group"})", R"({"await": "admin_group_set"})"}) {
    vpnbot::testing::exec_sync(url, std::string("UPDATE users SET conversation = '") + prompt + "' WHERE id = 200");
    send_text(kOtherId, "500 because m3 90 499 250 3 x");
  }
  EXPECT_EQ(state_snapshot(), before) << "a non-admin changed something";
  EXPECT_EQ(count("SELECT count(*) FROM admin_audit"), 0);

  auto replies = messages_to(kOtherId, mark);
  int refusals = 0;
  for (const auto& m : replies) {
    std::string text = m["payload"].value("text", "");
    if (m["method"] == "answerCallbackQuery") {
      EXPECT_EQ(text, "This section is for administrators only.");
      ++refusals;
    }
    for (const char* secret : {"Admin panel", "Statistics", "Audit", "pool", "Refund", "Broadcast #"})
      EXPECT_EQ(text.find(secret), std::string::npos) << "leaked to a non-admin: " << text;
    EXPECT_EQ(m["payload"].dump().find("\"adm:"), std::string::npos) << "admin button shown to a non-admin";
  }
  EXPECT_EQ(refusals, static_cast<int>(routes.size()));
}

TEST_F(AdminTest, PanelActionsApplyOnceAndAreAudited) {
  auto stars_order = count("SELECT id FROM orders WHERE provider = 'stars'");
  auto broadcast_id = count("SELECT id FROM broadcasts");
  auto press_admin = [&](std::vector<std::string> parts) { press(kAdminId, bot::encode_callback("adm", parts)); };
  auto last_text = [&] {
    auto all = messages_to(kAdminId, 0);
    for (auto it = all.rbegin(); it != all.rend(); ++it)
      if (it->at("method") != "answerCallbackQuery" && it->at("payload").contains("text"))
        return it->at("payload")["text"].get<std::string>();
    return std::string();
  };
  auto audits = [&](const std::string& action) {
    return count("SELECT count(*) FROM admin_audit WHERE actor_id = 900 AND via = 'bot' AND action = '" + action + "'");
  };

  send_text(kAdminId, "/start");
  EXPECT_NE(messages_to(kAdminId, 0).back()["payload"].dump().find("adm:home"), std::string::npos)
      << "admins see the panel button in the menu";
  press_admin({"st"});
  EXPECT_NE(last_text().find("total 3"), std::string::npos) << last_text();

  // Find by @username, case-insensitive; the card shows the Stars order with a refund button.
  press_admin({"find"});
  send_text(kAdminId, "@USER100");
  EXPECT_NE(last_text().find("(id 100)"), std::string::npos) << last_text();

  auto expiry = [&] {
    return count("SELECT extract(epoch FROM expires_at)::bigint FROM subscriptions WHERE user_id = 100");
  };
  int64_t before = expiry();
  press_admin({"gd", "100", "30"});
  EXPECT_NEAR(expiry() - before, 30 * 86400, 5);
  EXPECT_EQ(audits("grant_days"), 1);

  press_admin({"ban", "100"});
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE id = 100 AND banned"), 1);
  press_admin({"unban", "100"});
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE id = 100 AND banned"), 0);
  EXPECT_EQ(audits("ban") + audits("unban"), 2);

  press_admin({"bal", "100"});
  send_text(kAdminId, "150.50 compensation for downtime");
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 100"), 15050);
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE user_id = 100 AND source = 'admin' AND actor_id = 900 AND "
                  "note = 'compensation for downtime'"),
            1);
  press_admin({"bal", "100"});
  send_text(kAdminId, "lots");  // not an amount: a clear error, nothing changes
  EXPECT_NE(last_text().find("not an amount"), std::string::npos) << last_text();
  EXPECT_EQ(audits("adjust_balance"), 1);

  // Refund the Stars order: queued once even when the button is pressed twice.
  press_admin({"rfy", std::to_string(stars_order)});
  press_admin({"rfy", std::to_string(stars_order)});
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'billing.refund_stars'"), 1);
  EXPECT_EQ(audits("refund_order"), 1);

  press_admin({"pa", "month", "0"});
  EXPECT_EQ(count("SELECT count(*) FROM plans WHERE code = 'month' AND NOT active"), 1);
  press_admin({"padd"});
  send_text(kAdminId, "m6 180 899 450 3 Half a year");
  EXPECT_EQ(count("SELECT count(*) FROM plans WHERE code = 'm6' AND days = 180 AND price_rub = 89900"), 1);
  press_admin({"padd"});
  send_text(kAdminId, "m6 180 899 450 3 Again");
  EXPECT_NE(last_text().find("exists"), std::string::npos) << last_text();
  press_admin({"pedit"});
  send_text(kAdminId, "m6 price_rub 949.50");
  EXPECT_EQ(count("SELECT price_rub FROM plans WHERE code = 'm6'"), 94950);
  press_admin({"pedit"});
  send_text(kAdminId, "m6 days many");
  EXPECT_NE(last_text().find("whole number"), std::string::npos) << last_text();
  press_admin({"pedit"});
  send_text(kAdminId, "m6 days 99999");
  EXPECT_NE(last_text().find("between 1 and 3650"), std::string::npos) << last_text();
  press_admin({"pedit"});
  send_text(kAdminId, "m6 colour red");
  EXPECT_NE(last_text().find("unknown plan field"), std::string::npos) << last_text();
  press_admin({"po", "SPRING", "0"});
  EXPECT_EQ(count("SELECT count(*) FROM promo_codes WHERE code = 'SPRING' AND NOT active"), 1);
  press_admin({"poadd"});
  send_text(kAdminId, "autumn percent 15 100");
  EXPECT_EQ(count("SELECT count(*) FROM promo_codes WHERE code = 'AUTUMN' AND value = 15 AND max_uses = 100"), 1);
  press_admin({"poadd"});
  send_text(kAdminId, "BAD percent 250");
  EXPECT_NE(last_text().find("1-100"), std::string::npos) << last_text();
  press_admin({"ns", "nl-1", "draining"});
  EXPECT_EQ(count("SELECT count(*) FROM vpn_nodes WHERE state = 'draining'"), 1);

  // Promo groups: a group, a member, a group code, and the errors said clearly.
  press_admin({"grpadd"});
  send_text(kAdminId, "friends 15");
  EXPECT_EQ(count("SELECT count(*) FROM promo_groups WHERE name = 'friends' AND plan_percent = 15"), 1);
  press_admin({"grpadd"});
  send_text(kAdminId, "greedy 95");
  EXPECT_NE(last_text().find("1-90"), std::string::npos) << last_text();
  press_admin({"grpset"});
  send_text(kAdminId, "100 friends");
  EXPECT_EQ(count("SELECT count(*) FROM users u JOIN promo_groups g ON g.id = u.promo_group_id WHERE u.id = 100"), 1);
  press_admin({"grpset"});
  send_text(kAdminId, "100 nosuch");
  EXPECT_NE(last_text().find("no promo group nosuch"), std::string::npos) << last_text();
  press_admin({"grp"});
  EXPECT_NE(last_text().find("15% off, 1 member(s)"), std::string::npos) << last_text();
  press_admin({"grpset"});
  send_text(kAdminId, "100 -");
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE id = 100 AND promo_group_id IS NOT NULL"), 0);
  EXPECT_EQ(audits("create_group"), 1);
  EXPECT_EQ(audits("assign_group"), 2);
  press_admin({"poadd"});
  send_text(kAdminId, "VIPJOIN group friends 10");
  EXPECT_EQ(
      count("SELECT count(*) FROM promo_codes WHERE code = 'VIPJOIN' AND kind = 'group' AND group_id IS NOT NULL"), 1);
  press_admin({"gifts"});
  EXPECT_NE(last_text().find("Gifts"), std::string::npos) << last_text();
  // Traffic packages: listed, taken off sale and back, audited; an unknown one refused.
  int64_t package =
      count("INSERT INTO traffic_packages (gb, price_rub, price_stars) VALUES (20, 9900, 50) RETURNING id");
  press_admin({"trf"});
  EXPECT_NE(last_text().find("20 GB, 99 ₽, 50 ⭐"), std::string::npos) << last_text();
  press_admin({"ta", std::to_string(package), "0"});
  EXPECT_EQ(count("SELECT count(*) FROM traffic_packages WHERE NOT active"), 1);
  EXPECT_NE(last_text().find("OFF"), std::string::npos) << last_text();
  press_admin({"ta", std::to_string(package), "1"});
  EXPECT_EQ(count("SELECT count(*) FROM traffic_packages WHERE active"), 1);
  EXPECT_EQ(audits("disable_traffic_package") + audits("enable_traffic_package"), 2);
  press_admin({"ta", "999", "0"});
  EXPECT_EQ(audits("disable_traffic_package"), 1);

  // A broadcast from the panel: audience, text, a preview to the admin, start, cancel.
  press_admin({"bcn", "active"});
  send_text(kAdminId, "<b>News</b>");
  int64_t created = count("SELECT max(id) FROM broadcasts");
  EXPECT_EQ(count("SELECT count(*) FROM broadcasts WHERE audience = 'active' AND created_by = 900"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE chat_id = 900 AND payload->>'text' = '<b>News</b>'"), 1)
      << "the preview";
  press_admin({"bcgo", std::to_string(created)});
  EXPECT_EQ(count("SELECT count(*) FROM broadcasts WHERE id = " + std::to_string(created) + " AND state = 'running'"),
            1);
  press_admin({"bcx", std::to_string(broadcast_id)});
  EXPECT_EQ(audits("broadcast_start") + audits("broadcast_cancel") + audits("broadcast_create"), 3);

  press_admin({"audit"});
  EXPECT_NE(last_text().find("create_group"), std::string::npos) << "the newest 15 entries";
  // Malformed admin callbacks: wrong arity, unknown route, non-numeric ids: an error notice, nothing changes.
  std::string snapshot = state_snapshot();
  for (auto parts : std::vector<std::vector<std::string>>{{"gd", "100"}, {"nope"}, {"gd", "x", "y"}, {"rfy", "999"}})
    press_admin(parts);
  EXPECT_EQ(state_snapshot(), snapshot);
}

// Statistics on 100k users: every figure equals the one computed from the generating rules, and every query that
// is not a whole-table total reads through an index.
TEST_F(AdminTest, StatisticsOnHundredThousandUsersMatchAndUseIndexes) {
  constexpr int kUsers = 100000;
  vpnbot::testing::exec_sync(url,
                             "DELETE FROM outbox; DELETE FROM jobs; DELETE FROM ledger; DELETE FROM accounts; "
                             "DELETE FROM orders; DELETE FROM subscriptions; DELETE FROM trials; DELETE FROM users");
  vpnbot::testing::exec_sync(
      url,
      "INSERT INTO users (id, referral_code, first_name, created_at, reachable, banned) "
      "SELECT i, 'r' || i, 'u', now() - (i % 400) * interval '1 day' - interval '1 second', i % 20 <> 0, i % 100 = 1 "
      "FROM generate_series(1, 100000) i;"
      "INSERT INTO subscriptions (user_id, expires_at, device_limit, trial_only) "
      "SELECT i, now() + ((i % 400) - 370) * interval '1 day' + interval '1 hour', 1, i % 10 = 0 "
      "FROM generate_series(5, 100000, 5) i;"
      "INSERT INTO trials (user_id, days, granted_at) SELECT i, 3, now() - (i % 365) * interval '1 day' - "
      "interval '1 minute' FROM generate_series(7, 100000, 7) i;"
      "INSERT INTO orders (user_id, plan_id, provider, amount, currency, value_rub, days, device_limit, state, "
      "expires_at, paid_at) SELECT i, (SELECT id FROM plans WHERE code = 'month'), "
      "(ARRAY['yookassa','heleket','stars','balance'])[(i / 13) % 4 + 1], "
      "CASE WHEN (i / 13) % 4 = 2 THEN 100 ELSE 19900 END, CASE WHEN (i / 13) % 4 = 2 THEN 'XTR' ELSE 'RUB' END, "
      "19900, 30, 1, CASE WHEN i % 130 = 0 THEN 'refunded' ELSE 'paid' END, now(), "
      "now() - (i % 365) * interval '1 day' - interval '1 minute' FROM generate_series(13, 100000, 13) i");
  for (const char* table : {"users", "subscriptions", "trials", "orders"})
    vpnbot::testing::exec_sync(url, std::string("VACUUM ANALYZE ") + table);

  // Expected figures from the same rules, computed here.
  int64_t new_7d = 0, new_30d = 0, blocked = 0, banned = 0, active = 0, active_trials = 0, trials = 0, trials_30d = 0,
          payers_30d = 0;
  std::map<std::string, std::pair<int64_t, int64_t>> revenue;  // provider -> (orders, amount)
  const char* providers[] = {"yookassa", "heleket", "stars", "balance"};
  for (int i = 1; i <= kUsers; ++i) {
    bool new30 = i % 400 <= 29;
    new_7d += i % 400 <= 6;
    new_30d += new30;
    blocked += i % 20 == 0;
    banned += i % 100 == 1;
    if (i % 5 == 0 && (i % 400) - 370 >= 0) {
      ++active;
      active_trials += i % 10 == 0;
    }
    if (i % 7 == 0) {
      ++trials;
      trials_30d += i % 365 <= 29;
    }
    if (i % 13 == 0) {
      payers_30d += new30;
      if (i % 130 != 0 && i % 365 <= 29) {
        auto& r = revenue[providers[(i / 13) % 4]];
        r.first += 1;
        r.second += (i / 13) % 4 == 2 ? 100 : 19900;
      }
    }
  }
  auto stats = run(pool->transaction(
      [](db::Transaction& tx) -> awaitable<ops::Stats> { co_return co_await ops::collect_stats(tx); }));
  EXPECT_EQ(stats.users_total, kUsers);
  EXPECT_EQ(stats.users_7d, new_7d);
  EXPECT_EQ(stats.users_30d, new_30d);
  EXPECT_EQ(stats.blocked, blocked);
  EXPECT_EQ(stats.banned, banned);
  EXPECT_EQ(stats.active_subscriptions, active);
  EXPECT_EQ(stats.active_trials, active_trials);
  EXPECT_EQ(stats.trials_total, trials);
  EXPECT_EQ(stats.trials_30d, trials_30d);
  EXPECT_EQ(stats.payers_of_new_30d, payers_30d);
  std::map<std::string, std::pair<int64_t, int64_t>> got;
  for (const auto& r : stats.revenue) {
    got[r.provider].first += r.orders;
    got[r.provider].second += r.amount;
  }
  EXPECT_EQ(got, revenue);
  EXPECT_FALSE(stats.render(true).empty());
  ASSERT_EQ(stats.nodes.size(), 1u);
  EXPECT_EQ(stats.nodes[0].pool_size, 13) << "a /28 has 13 client addresses";

  for (const auto& q : ops::stats_queries()) {
    if (q.whole_table) continue;
    std::string plan = vpnbot::testing::query_value_sync(url, "EXPLAIN (FORMAT JSON) " + q.sql);
    for (const char* table : {"users", "subscriptions", "trials", "orders", "vpn_peers", "vpn_free_addresses"}) {
      // A sequential scan of a big table shows as Seq Scan with that Relation Name.
      auto plan_json = json::parse(plan);
      std::function<void(const json&)> walk = [&](const json& node) {
        if (node.value("Node Type", "") == "Seq Scan")
          EXPECT_NE(node.value("Relation Name", ""), table) << q.name << " scans " << table << " whole:\n" << plan;
        if (node.contains("Plans"))
          for (const auto& child : node["Plans"]) walk(child);
      };
      walk(plan_json[0]["Plan"]);
    }
  }
}

// Every `vpnbot admin` leaf subcommand (collected from the CLI definition itself) runs once as a real process with
// valid arguments, and once with a bad argument (exit code 2 and a message).
TEST_F(AdminTest, EveryCliSubcommandWorksAndRejectsBadArguments) {
  CLI::App app;
  std::string config_file;
  admin::add_commands(app, config_file);
  std::set<std::string> leaves;
  std::function<void(CLI::App*, std::string)> collect = [&](CLI::App* cmd, std::string path) {
    auto subs = cmd->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) leaves.insert(path);
    for (auto* s : subs) collect(s, path.empty() ? s->get_name() : path + " " + s->get_name());
  };
  collect(app.get_subcommand("admin"), "");

  auto order = std::to_string(count("SELECT id FROM orders WHERE provider = 'stars'"));
  auto draft = std::to_string(count("SELECT id FROM broadcasts"));
  auto png = ::testing::TempDir() + "/admin-qr.png";
  // A backup, then its restore into an empty database ("@newest-backup" is the file the backup row made).
  auto backup_dir = ::testing::TempDir() + "/admin-backups-" + std::to_string(::getpid());
  auto backup_key = ::testing::TempDir() + "/admin-backup-" + std::to_string(::getpid()) + ".key";
  {
    std::ofstream key(backup_key);
    key << std::string(64, 'b') << "\n";
  }
  std::filesystem::permissions(backup_key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  struct RemovedAfterwards {
    std::vector<std::string> paths;
    ~RemovedAfterwards() {
      for (const auto& path : paths) std::filesystem::remove_all(path);
    }
  } temporary{{backup_dir, backup_key}};
  auto restore_target = vpnbot::testing::empty_database_url();
  auto ticket = count("INSERT INTO tickets (user_id) VALUES (100) RETURNING id");
  // In order: later rows use what earlier ones created (the config, the second broadcast).
  std::vector<std::pair<std::string, std::vector<std::string>>> valid{
      {"stats", {"stats"}},
      {"audit", {"audit", "--limit", "5"}},
      {"node list", {"node", "list"}},
      {"node add",
       {"node", "add", "--name", "de-1", "--country", "DE", "--location", "Frankfurt", "--endpoint", "127.0.0.2",
        "--subnet", "10.10.0.0/24", "--interface", "wgde"}},
      {"node set-state", {"node", "set-state", "de-1", "draining"}},
      {"node credential",
       {"node", "credential", "de-1", "--out", ::testing::TempDir() + "/node-de-1-" + std::to_string(::getpid())}},
      {"node add",
       {"node", "add", "--backend", "remnawave", "--name", "xr-1", "--country", "NL", "--location", "Amsterdam",
        "--panel-url", "http://127.0.0.1:9", "--token-env", "TEST_PANEL_API_TOKEN", "--squad",
        "6f1c7c5e-2f0b-4b8e-9a51-1f2d3c4b5a69", "--api-version", "3"}},
      {"node resync", {"node", "resync", "xr-1"}},
      {"config add", {"config", "add", "--user", "100", "--node", "nl-1"}},
      {"config show", {"config", "show", "1"}},
      {"config qr", {"config", "qr", "1", "--out", png}},
      {"config set-state", {"config", "set-state", "1", "disabled"}},
      {"config move", {"config", "move", "1", "--node", "de-1"}},
      {"plan list", {"plan", "list"}},
      {"plan add",
       {"plan", "add", "--code", "week", "--title-en", "Week", "--days", "7", "--price-rub", "59", "--price-stars",
        "30"}},
      {"plan set", {"plan", "set", "week", "price_rub", "69.90"}},
      {"traffic add", {"traffic", "add", "--gb", "10", "--price-rub", "49", "--price-stars", "25"}},
      {"traffic list", {"traffic", "list", "--all"}},
      {"traffic disable", {"traffic", "disable", "1"}},
      {"traffic enable", {"traffic", "enable", "1"}},
      {"promo add", {"promo", "add", "--code", "CLI10", "--kind", "percent", "--value", "10"}},
      {"promo list", {"promo", "list"}},
      {"promo disable", {"promo", "disable", "CLI10"}},
      {"promo enable", {"promo", "enable", "CLI10"}},
      {"order list", {"order", "list", "--user", "100"}},
      {"order refund", {"order", "refund", order, "--note", "asked"}},
      {"user list", {"user", "list", "--limit", "10"}},
      {"user show", {"user", "show", "@user100"}},
      {"user grant-days", {"user", "grant-days", "200", "7"}},
      {"user balance", {"user", "balance", "200", "25", "--reason", "bonus"}},
      {"user ban", {"user", "ban", "200", "--reason", "spam"}},
      {"user unban", {"user", "unban", "200"}},
      {"broadcast list", {"broadcast", "list"}},
      {"broadcast create", {"broadcast", "create", "--text", "hi", "--audience", "all"}},
      {"broadcast preview", {"broadcast", "preview", draft, "--to", "900"}},
      {"broadcast start", {"broadcast", "start", draft}},
      {"broadcast pause", {"broadcast", "pause", draft}},
      {"broadcast resume", {"broadcast", "resume", draft}},
      {"broadcast status", {"broadcast", "status", draft}},
      {"broadcast cancel", {"broadcast", "cancel", draft}},
      {"maintenance on", {"maintenance", "on", "--message", "Back soon"}},
      {"maintenance status", {"maintenance", "status"}},
      {"maintenance off", {"maintenance", "off"}},
      {"group add", {"group", "add", "vip", "--percent", "10"}},
      {"group assign", {"group", "assign", "100", "--group", "vip"}},
      {"group list", {"group", "list"}},
      {"gift list", {"gift", "list", "--state", "open"}},
      {"ticket list", {"ticket", "list", "--state", "all"}},
      {"ticket close", {"ticket", "close", std::to_string(ticket)}},
      {"backup", {"backup", "--dir", backup_dir, "--key-file", backup_key, "--keep", "3"}},
      {"restore", {"restore", "@newest-backup", "--target-url", restore_target, "--key-file", backup_key}},
  };
  std::set<std::string> tested;
  for (const auto& [name, args] : valid) tested.insert(name);
  ASSERT_EQ(tested, leaves) << "every admin subcommand needs a row here";

  std::map<std::string, std::string> env{{"VPNBOT_DATABASE_URL", url},
                                         {"VPNBOT_MASTER_KEY_FILE", vpnbot::testing::test_master_key_file()},
                                         {"VPNBOT_LOG_LEVEL", "warn"},
                                         {"TEST_PANEL_API_TOKEN", "a-panel-api-token"},
                                         {"VPNBOT_SUPPORT_CHAT_ID", "-1001234567890"}};
  for (const auto& [name, args] : valid) {
    std::vector<std::string> argv{"admin", "--actor", "900"};
    if (name == "stats" || name == "user show" || name == "audit") argv.push_back("--json");
    argv.insert(argv.end(), args.begin(), args.end());
    for (auto& arg : argv)
      if (arg == "@newest-backup") arg = ops::list_backups(backup_dir).back().path;
    auto p = vpnbot::testing::spawn_vpnbot(argv, env);
    EXPECT_EQ(p.wait(Millis(30000)), 0) << name << ": " << p.output();
    if (name == "stats") EXPECT_EQ(json::parse(p.output())["users"]["total"], 3) << p.output();
    if (name == "user show") EXPECT_EQ(json::parse(p.output())["id"], 100) << p.output();
    if (name == "user list") EXPECT_NE(p.output().find("@user200"), std::string::npos) << p.output();
    if (name == "node resync") EXPECT_NE(p.output().find("0 account(s) of xr-1"), std::string::npos) << p.output();
    if (name == "maintenance status")
      EXPECT_NE(p.output().find("maintenance is on since"), std::string::npos) << p.output();
    if (name == "group list") EXPECT_NE(p.output().find("vip"), std::string::npos) << p.output();
    if (name == "traffic list") EXPECT_NE(p.output().find("49.00"), std::string::npos) << p.output();
    if (name == "ticket close") EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'support.close'"), 1);
    if (name == "restore")
      EXPECT_EQ(vpnbot::testing::query_value_sync(restore_target, "SELECT count(*) FROM users"), "3") << p.output();
  }
  EXPECT_EQ(count("SELECT count(*) FROM panel_nodes WHERE name = 'xr-1' AND api_version = 3"), 1);
  // Changes made through the CLI are audited with the actor.
  EXPECT_EQ(count("SELECT count(*) FROM admin_audit WHERE via = 'cli' AND action = 'set_promo'"), 2) << "off, on";
  for (const char* action : {"create_plan",
                             "set_plan",
                             "create_promo",
                             "refund_order",
                             "grant_days",
                             "adjust_balance",
                             "ban",
                             "unban",
                             "set_node_state",
                             "resync_panel_node",
                             "broadcast_start",
                             "broadcast_pause",
                             "broadcast_resume",
                             "broadcast_cancel",
                             "maintenance_on",
                             "maintenance_off",
                             "create_group",
                             "assign_group",
                             "close_ticket",
                             "add_traffic_package",
                             "disable_traffic_package",
                             "enable_traffic_package"})
    EXPECT_EQ(
        count(std::string("SELECT count(*) FROM admin_audit WHERE via = 'cli' AND actor_id = 900 AND action = '") +
              action + "'"),
        1)
        << action;

  std::string before = state_snapshot();
  for (const auto& leaf : leaves) {
    std::vector<std::string> argv{"admin"};
    for (size_t start = 0;;) {
      auto space = leaf.find(' ', start);
      argv.push_back(leaf.substr(start, space == std::string::npos ? std::string::npos : space - start));
      if (space == std::string::npos) break;
      start = space + 1;
    }
    argv.push_back("--no-such-option");
    auto p = vpnbot::testing::spawn_vpnbot(argv, env);
    EXPECT_EQ(p.wait(Millis(30000)), 2) << leaf << ": " << p.output();
    EXPECT_NE(p.output().find("Run with --help"), std::string::npos) << leaf << ": the reason is printed";
  }
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"admin", "user", "grant-days", "100", "0"},
        {"admin", "node", "set-state", "nl-1", "melted"},
        {"admin", "node", "resync", "xr-1", "--account", "-5"},
        {"admin", "node", "add", "--backend", "remnawave", "--name", "xr-2", "--country", "NL", "--location", "A",
         "--panel-url", "http://127.0.0.1:9", "--token-env", "TEST_PANEL_API_TOKEN", "--api-version", "4"},
        {"admin", "audit", "--limit", "many"},
        {"admin", "traffic", "add", "--gb", "100001", "--price-rub", "1", "--price-stars", "1"},
        {"admin", "traffic", "add", "--gb", "1", "--price-rub", "-1", "--price-stars", "1"},
        {"admin", "user", "list", "--limit", "0"}}) {
    auto p = vpnbot::testing::spawn_vpnbot(bad, env);
    EXPECT_EQ(p.wait(Millis(30000)), 2) << bad[1] << " " << bad[2] << ": " << p.output();
  }
  EXPECT_EQ(state_snapshot(), before) << "rejected commands changed nothing";
}
