// Xray through the Remnawave panel, with the real `vpnbot serve` processes (a gateway, a worker + scheduler) against
// the Telegram, YooKassa and Remnawave emulators:
//  1. payment webhook -> subscription link in the chat, one payment at a time (p50 / p99 / max);
//  2. reconcile throughput of one worker process: accounts created on the panel per second, then the same accounts
//     updated (a renewal moves every expiry), with the panel answering at once and with 20 ms per call, side by
//     side in one run.
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_serve.hpp"
#include "bench_support.hpp"
#include "billing/jobs.hpp"
#include "billing/orders.hpp"
#include "billing/yookassa/provider.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "emulator/emulator_thread.hpp"
#include "telegram/ingest.hpp"
#include "vpn/keys.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/remnawave/jobs.hpp"

using namespace vpnbot;
using bench::percentile;
using bench::wait_for;
using nlohmann::json;

namespace {

struct Throughput {
  double created_per_s = 0, updated_per_s = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Remnawave (Xray) benchmark of the real serve processes"};
  int payments_count = 30, accounts = 1000;
  app.add_option("--payments", payments_count, "payments measured one by one")->check(CLI::Range(1, 500));
  app.add_option("--accounts", accounts, "panel accounts per throughput round")->check(CLI::Range(10, 20000));
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return 1;
  log::init("warning");

  bench::ServeWorld world;
  auto& database = world.database;
  auto& pool = database.pool;
  const auto& work = world.work;
  const auto& key_file = world.key_file;
  auto& box = world.box;
  uint16_t port = world.port;
  const auto& base = world.base;
  auto& telegram = world.telegram;
  const auto& payment_options = world.payment_options;
  auto& payments = world.payments;
  emulator::RemnawaveEmulatorOptions panel_options;
  panel_options.max_exchanges = 0;  // nothing kept for a contract check: the figures are the panel's own work
  emulator::RemnawaveEmulatorThread panel(panel_options);
  auto query = [&](const std::string& sql) {
    return bench::run_on(database.io, [&]() -> awaitable<std::string> {
      auto r = co_await pool.exec(sql);
      co_return r.rows() && !r.is_null(0, 0) ? r.get<std::string>(0, 0) : std::string();
    }());
  };
  auto count = [&](const std::string& sql) {
    auto v = query(sql);
    return v.empty() ? int64_t{0} : std::stoll(v);
  };
  int64_t node_id = bench::run_on(database.io, pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
    remnawave::PanelNodeSpec spec;
    spec.name = "bench-xray";
    spec.country_code = "NL";
    spec.location = "Amsterdam";
    spec.panel_url = panel.base_url();
    spec.token = panel_options.token;
    spec.squads = {panel_options.squads.begin()->first};
    spec.capacity = 100000;
    auto node = co_await remnawave::Accounts::add_node(tx, box, spec);
    co_await tx.exec(
        "INSERT INTO plans (code, title, days, price_rub, price_stars, device_limit, sort, traffic_gb, "
        "panel_devices, backend) VALUES ('xray', '{\"en\": \"Xray month\"}', 30, 19900, 100, 3, 5, 50, 2, "
        "'remnawave')");
    co_return node.id;
  }));

  bench::ServeUnderTest processes(database.cluster->url(), port, telegram, payments.base_url(), payment_options,
                                  key_file, "bench-remnawave-secret", work);
  auto cleanup = [&] { processes.stop(); };
  if (!wait_for([&] { return bench::http_call("GET", base + "/healthz").first == 200; }, Millis(30000))) {
    std::cerr << "serve did not become ready; see " << work << "/gateway.log\n";
    cleanup();
    return 1;
  }
  std::this_thread::sleep_for(Millis(500));  // webhook registered
  std::cout << "\n| benchmark (Xray through Remnawave, real serve processes) | value |\n|---|---:|\n";

  // 1. Payment webhook -> the subscription link in the chat.
  std::vector<double> to_link;
  bench::http_call("POST", telegram.base_url() + "/client/users",
                   json{{"from", 600000}, {"count", payments_count}}.dump());
  auto chat_has = [&](int64_t user, const std::string& needle) {
    return bench::http_call("GET", telegram.base_url() + "/client/messages?chat_id=" + std::to_string(user))
               .second.find(needle) != std::string::npos;
  };
  for (int i = 0; i < payments_count; ++i) {
    int64_t user = 600000 + i;
    int64_t order_id = bench::run_on(database.io, pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
      std::string code = "x" + std::to_string(user), provider = "yookassa";
      co_await tx.exec("INSERT INTO users (id, referral_code, started_at) VALUES ($1, $2, now())", user, code);
      int64_t plan = (co_await tx.exec("SELECT id FROM plans WHERE code = 'xray'")).get<int64_t>(0, 0);
      billing::BillingOptions options;
      auto order = co_await billing::Orders::create(tx, user, plan, provider, options);
      co_await billing::enqueue_create_payment(tx, order.id);
      co_return order.id;
    }));
    wait_for([&] { return chat_has(user, "Tap the button to pay"); }, Millis(30000));
    std::this_thread::sleep_for(Millis(1100));  // nobody pays within the chat's 1 message/s spacing of the link
    auto start = Clock::now();
    bench::http_call(
        "POST", payments.base_url() + "/client/settle",
        json{{"provider", "yookassa"}, {"order_id", std::to_string(order_id)}, {"status", "succeeded"}}.dump());
    bool delivered = wait_for([&] { return chat_has(user, panel.base_url() + "/api/sub/"); }, Millis(30000));
    if (!delivered) {
      std::cerr << "no subscription link for user " << user << "; see " << work << "/worker.log\n";
      cleanup();
      return 1;
    }
    to_link.push_back(bench::seconds_since(start) * 1e3);
  }
  bench::row(fmt::format("payment webhook sent -> Xray subscription link in the chat, {} payments (p50 / p99 / max)",
                         payments_count),
             fmt::format("{:.1f} ms / {:.1f} ms / {:.1f} ms", percentile(to_link, 0.5), percentile(to_link, 0.99),
                         percentile(to_link, 1.0)));

  // 2. Reconcile throughput: `accounts` accounts appear at once (as after an import or a panel move), then all of
  // them change (a renewal), at two panel latencies.
  auto round = [&](int64_t first, int latency_ms) {
    bench::http_call("POST", panel.base_url() + "/client/remnawave/config", json{{"latency_ms", latency_ms}}.dump());
    int64_t last = first + accounts - 1;
    std::string range = fmt::format("user_id BETWEEN {} AND {}", first, last);
    auto behind = [&] {
      return count("SELECT count(*) FROM panel_accounts WHERE " + range + " AND applied_revision < revision");
    };
    Throughput t;
    auto started = Clock::now();
    bench::run_on(database.io, pool.transaction([&](db::Transaction& tx) -> awaitable<int> {
      int64_t plan = (co_await tx.exec("SELECT id FROM plans WHERE code = 'xray'")).get<int64_t>(0, 0);
      co_await tx.exec(
          "INSERT INTO users (id, referral_code, started_at) SELECT g, 'r' || g, now() FROM "
          "generate_series($1::bigint, "
          "$2::bigint) g",
          first, last);
      co_await tx.exec(
          "INSERT INTO subscriptions (user_id, plan_id, expires_at, device_limit) SELECT g, $3, now() + interval "
          "'30 days', 3 FROM generate_series($1::bigint, $2::bigint) g",
          first, last, plan);
      auto subs = co_await tx.exec("SELECT user_id, id FROM subscriptions WHERE " + range);
      for (int i = 0; i < subs.rows(); ++i) {
        int64_t user = subs.get<int64_t>(i, 0);
        co_await remnawave::Accounts::provision(tx, user, node_id, subs.get<int64_t>(i, 1),
                                                "bench:" + std::to_string(user), false);
        co_await remnawave::Accounts::ask_sync(tx, user);
      }
      co_return subs.rows();
    }));
    bool created = wait_for([&] { return behind() == 0; }, Millis(300000));
    t.created_per_s = created ? accounts / bench::seconds_since(started) : 0;
    started = Clock::now();
    bench::run_on(database.io, pool.transaction([&](db::Transaction& tx) -> awaitable<int> {
      co_await tx.exec("UPDATE subscriptions SET expires_at = expires_at + interval '30 days' WHERE " + range);
      auto users = co_await tx.exec("SELECT user_id FROM subscriptions WHERE " + range);
      for (int i = 0; i < users.rows(); ++i) co_await remnawave::Accounts::ask_sync(tx, users.get<int64_t>(i, 0));
      co_return users.rows();
    }));
    bool updated = wait_for([&] { return behind() == 0; }, Millis(300000));
    t.updated_per_s = updated ? accounts / bench::seconds_since(started) : 0;
    return t;
  };
  auto fast = round(1000000, 0);
  auto slow = round(2000000, 20);
  auto calls = json::parse(bench::http_call("GET", panel.base_url() + "/client/remnawave/stats").second)["calls"];
  bench::row(fmt::format("{} panel accounts created by one worker, panel answering at once / at 20 ms", accounts),
             fmt::format("{:.0f} /s / {:.0f} /s (ratio {:.2f})", fast.created_per_s, slow.created_per_s,
                         fast.created_per_s > 0 ? slow.created_per_s / fast.created_per_s : 0));
  bench::row(fmt::format("{} panel accounts updated (renewal), panel answering at once / at 20 ms", accounts),
             fmt::format("{:.0f} /s / {:.0f} /s (ratio {:.2f})", fast.updated_per_s, slow.updated_per_s,
                         fast.updated_per_s > 0 ? slow.updated_per_s / fast.updated_per_s : 0));
  bench::row("updated / created throughput ratio (panel at once)",
             fmt::format("{:.2f}", fast.created_per_s > 0 ? fast.updated_per_s / fast.created_per_s : 0));
  int64_t lookups = 0;
  for (auto& [route, n] : calls.items())
    if (route.rfind("GET /api/users/by-username/", 0) == 0) lookups += n.get<int64_t>();
  int64_t dead = count("SELECT count(*) FROM jobs WHERE state = 'dead'");
  bench::row("panel calls over the whole run: creates / updates / lookups by username / dead jobs",
             fmt::format("{} / {} / {} / {}", calls.value("POST /api/users", 0), calls.value("PATCH /api/users", 0),
                         lookups, dead));
  cleanup();
  return 0;
}
