// The real `vpnbot serve` process (all roles) against the Telegram and YooKassa emulators, with its wg-agent driving
// wireguard-go in a private network namespace where the box allows it:
//  1. payment -> peer active on the interface -> config document delivered to the chat, per payment (one at a time);
//  2. the resident memory of `serve` idle and under an open-loop load of 1000 webhook updates/s, and how fast the
//     worker drains what was ingested. Roles run as deployed: a gateway process and a worker + scheduler process
//     (each process has one event-loop thread; scaling is by processes).
#include <sodium.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "bench_serve.hpp"
#include "bench_support.hpp"
#include "billing/heleket/provider.hpp"
#include "billing/jobs.hpp"
#include "billing/orders.hpp"
#include "billing/webhooks.hpp"
#include "billing/yookassa/provider.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "emulator/emulator_thread.hpp"
#include "support/build_paths.hpp"
#include "telegram/ingest.hpp"
#include "vpn/keys.hpp"
#include "vpn/store.hpp"

using namespace vpnbot;
using bench::percentile;
using bench::wait_for;
using nlohmann::json;

namespace {

// VmRSS / VmHWM of a process in MB.
double memory_mb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024.0;
  return 0;
}

bool netns_available() {
  return geteuid() == 0 && std::filesystem::exists("/dev/net/tun") &&
         run_shell("command -v wireguard-go && command -v wg && command -v ip") == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"end-to-end benchmark of the real serve process"};
  int seconds = 10, payments_count = 20;
  app.add_option("--seconds", seconds, "duration of the 1000 updates/s load")->check(CLI::Range(1, 120));
  app.add_option("--payments", payments_count, "payments measured one by one")->check(CLI::Range(1, 500));
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

  // The node: in a private namespace with a wg-agent when possible.
  bool tunnel = netns_available();
  std::string ns = "vb-bench-e2e-" + std::to_string(getpid()), ifname = "wgbe" + std::to_string(getpid() % 100000);
  {
    vpn::VpnStore store(pool, box);
    vpn::NodeSpec spec{"bench-node", "NL", "Amsterdam", "198.18.0.1", 51820, ifname, "10.91.0.0/20"};
    spec.capacity = 4000;
    bench::run_on(database.io, store.add_node(spec));
  }
  const std::string secret = "bench-e2e-secret";
  bench::ServeUnderTest processes(database.cluster->url(), port, telegram, payments.base_url(), payment_options,
                                  key_file, secret, work);
  const auto& env = processes.env;
  auto& serve = processes.gateway;
  auto& worker = processes.worker;
  ChildProcess agent;
  if (tunnel && run_shell("ip netns add " + ns) == 0) {
    agent = ChildProcess::start({"ip", "netns", "exec", ns, vpnbot::testing::kVpnbotBinary, "wg-agent", "--node",
                                 "bench-node", "--state-dir", work + "/agent"},
                                env, work + "/agent.log");
  } else {
    tunnel = false;
  }
  auto cleanup = [&] {
    processes.stop();
    agent.stop(Millis(5000));
    if (tunnel) {
      remove_network_namespace(ns);
    }
  };
  if (!wait_for([&] { return bench::http_call("GET", base + "/healthz").first == 200; }, Millis(30000))) {
    std::cerr << "serve did not become ready; see " << work << "/gateway.log\n";
    cleanup();
    return 1;
  }
  std::this_thread::sleep_for(Millis(500));  // webhook registered, agent's interface up
  double idle_rss = memory_mb(serve.pid(), "VmRSS"), idle_worker_rss = memory_mb(worker.pid(), "VmRSS");

  std::cout << "\n| benchmark (end to end, real serve process) | value |\n|---|---:|\n";
  // 1. Payment -> peer on the interface -> config in the chat, one payment at a time.
  std::vector<double> to_peer, to_config;
  bench::http_call("POST", telegram.base_url() + "/client/users",
                   json{{"from", 500000}, {"count", payments_count}}.dump());
  for (int i = 0; i < payments_count; ++i) {
    int64_t user = 500000 + i;
    int64_t order_id = bench::run_on(database.io, pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
      std::string code = "e" + std::to_string(user), provider = "yookassa";
      co_await tx.exec("INSERT INTO users (id, referral_code, started_at) VALUES ($1, $2, now())", user, code);
      int64_t month = (co_await tx.exec("SELECT id FROM plans WHERE code = 'month'")).get<int64_t>(0, 0);
      billing::BillingOptions options;
      auto order = co_await billing::Orders::create(tx, user, month, provider, options);
      co_await billing::enqueue_create_payment(tx, order.id);
      co_return order.id;
    }));
    auto query = [&](std::string sql) {
      return bench::run_on(database.io, [&]() -> awaitable<std::string> {
        auto r = co_await pool.exec(sql);
        co_return r.rows() && !r.is_null(0, 0) ? r.get<std::string>(0, 0) : std::string();
      }());
    };
    wait_for(
        [&] { return !query(fmt::format("SELECT provider_payment_id FROM orders WHERE id = {}", order_id)).empty(); },
        Millis(30000));
    // The user sees the payment link, then pays: no person pays within the chat's 1 message/s spacing of it.
    wait_for(
        [&] {
          return bench::http_call("GET", telegram.base_url() + "/client/messages?chat_id=" + std::to_string(user))
                     .second.find("Tap the button to pay") != std::string::npos;
        },
        Millis(30000));
    std::this_thread::sleep_for(Millis(1100));
    auto start = Clock::now();
    bench::http_call(
        "POST", payments.base_url() + "/client/settle",
        json{{"provider", "yookassa"}, {"order_id", std::to_string(order_id)}, {"status", "succeeded"}}.dump());
    std::string public_key;
    if (tunnel) {
      wait_for(
          [&] {
            if (public_key.empty())
              public_key = query(fmt::format("SELECT public_key FROM vpn_peers WHERE user_id = {}", user));
            return !public_key.empty() &&
                   shell_output("ip netns exec " + ns + " wg show " + ifname + " peers").find(public_key) !=
                       std::string::npos;
          },
          Millis(30000));
      to_peer.push_back(bench::seconds_since(start) * 1e3);
    }
    wait_for(
        [&] {
          auto [status, body] =
              bench::http_call("GET", telegram.base_url() + "/client/messages?chat_id=" + std::to_string(user));
          return body.find("\"document\"") != std::string::npos;
        },
        Millis(30000));
    to_config.push_back(bench::seconds_since(start) * 1e3);
  }
  if (tunnel)
    bench::row("payment webhook sent -> peer active on the WireGuard interface (p50 / max)",
               fmt::format("{:.1f} ms / {:.1f} ms", percentile(to_peer, 0.5), percentile(to_peer, 1.0)));
  else
    bench::row("payment -> peer active", "skipped: needs root, /dev/net/tun, wireguard-go and ip netns");
  bench::row("payment webhook sent -> config .conf delivered to the chat (p50 / max)",
             fmt::format("{:.1f} ms / {:.1f} ms", percentile(to_config, 0.5), percentile(to_config, 1.0)));

  // 2. Memory under 1000 updates/s, and the drain.
  auto load_start = Clock::now();
  auto [p50, p99] = bench::fixed_rate(base + telegram::kWebhookPath, secret, 1000, seconds, 1);
  double loaded_rss = memory_mb(serve.pid(), "VmRSS"), loaded_worker_rss = memory_mb(worker.pid(), "VmRSS");
  int total = 1000 * seconds;
  auto handled = [&] {
    return bench::run_on(database.io, [&]() -> awaitable<int64_t> {
      auto r = co_await pool.exec("SELECT count(*) FROM tg_inbox WHERE state = 'done' AND update_id < 500000");
      co_return r.get<int64_t>(0, 0);
    }());
  };
  bool drained = wait_for([&] { return handled() >= total; }, Millis(120000));
  double drain_s = bench::seconds_since(load_start);
  double peak_rss = memory_mb(serve.pid(), "VmHWM"), peak_worker_rss = memory_mb(worker.pid(), "VmHWM");
  bench::row(fmt::format("webhook at 1000 updates/s for {} s into the gateway process: p50 / p99", seconds),
             fmt::format("{:.2f} ms / {:.2f} ms", p50, p99));
  bench::row("RSS of serve --roles gateway: idle / under load / peak",
             fmt::format("{:.1f} MB / {:.1f} MB / {:.1f} MB", idle_rss, loaded_rss, peak_rss));
  bench::row("RSS of serve --roles worker,scheduler: idle / under load / peak",
             fmt::format("{:.1f} MB / {:.1f} MB / {:.1f} MB", idle_worker_rss, loaded_worker_rss, peak_worker_rss));
  bench::row(fmt::format("{} updates handled (bot logic + reply queued) by the worker", total),
             drained ? fmt::format("in {:.1f} s from the first request ({:.0f}/s)", drain_s, total / drain_s)
                     : fmt::format("only {} within 120 s", handled()));
  cleanup();
  return 0;
}
