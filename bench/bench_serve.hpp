#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench_support.hpp"
#include "billing/yookassa/provider.hpp"
#include "core/process.hpp"
#include "emulator/emulator_thread.hpp"
#include "support/build_paths.hpp"
#include "vpn/keys.hpp"

extern char** environ;

namespace vpnbot::bench {

// A free TCP port on loopback (bound once and released), for a process the benchmark starts.
inline uint16_t free_loopback_port() {
  asio::io_context probe;
  asio::ip::tcp::acceptor a(probe, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

// What an end-to-end benchmark runs against: a throwaway PostgreSQL (migrated), a master key in its directory, the
// gateway's port and URL, and the Telegram and YooKassa emulators (YooKassa notifying the gateway). Members are
// built in this order and destroyed in reverse.
struct ServeWorld {
  ServeWorld()
      : database(2, 4),
        work(database.cluster->dir()),
        key_file(work + "/master.key"),
        box(vpn::SecretBox::from_file(key_file, true)),
        port(free_loopback_port()),
        base("http://127.0.0.1:" + std::to_string(port)),
        payment_options(yookassa_to(base)),
        payments(payment_options) {}
  static emulator::PaymentsEmulatorOptions yookassa_to(const std::string& gateway) {
    emulator::PaymentsEmulatorOptions o;
    o.yookassa_webhook_url = gateway + billing::kYooKassaWebhookPath;
    return o;
  }

  BenchDatabase database;
  std::string work, key_file;
  vpn::SecretBox box;
  uint16_t port;
  std::string base;
  emulator::TelegramEmulatorThread telegram;
  emulator::PaymentsEmulatorOptions payment_options;
  emulator::PaymentsEmulatorThread payments;
};

// The real `vpnbot serve` (this build's binary) as deployed: a gateway process on `port` and a worker + scheduler
// process (each one event-loop thread), against the Telegram and YooKassa emulators, logging into `work`. `env` is the
// environment they share (the caller's, without its VPNBOT_ settings), for further processes such as a wg-agent.
struct ServeUnderTest {
  ServeUnderTest(const std::string& database_url, uint16_t port, const emulator::TelegramEmulatorThread& telegram,
                 const std::string& payments_url, const emulator::PaymentsEmulatorOptions& payment_options,
                 const std::string& key_file, const std::string& webhook_secret, const std::string& work) {
    for (char** e = environ; *e; ++e)
      if (std::string_view(*e).rfind("VPNBOT_", 0) != 0) env.emplace_back(*e);
    for (auto [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"VPNBOT_DATABASE_URL", database_url},
             {"VPNBOT_HTTP_LISTEN", "127.0.0.1:" + std::to_string(port)},
             {"VPNBOT_PUBLIC_URL", "http://127.0.0.1:" + std::to_string(port)},
             {"VPNBOT_TELEGRAM_MODE", "webhook"},
             {"VPNBOT_TELEGRAM_API_URL", telegram.base_url()},
             {"VPNBOT_TELEGRAM_TOKEN", telegram.token()},
             {"VPNBOT_TELEGRAM_WEBHOOK_SECRET", webhook_secret},
             {"VPNBOT_MASTER_KEY_FILE", key_file},
             {"VPNBOT_LOG_LEVEL", "warn"},
             {"VPNBOT_YOOKASSA_API_URL", payments_url},
             {"VPNBOT_YOOKASSA_SHOP_ID", payment_options.yookassa_shop_id},
             {"VPNBOT_YOOKASSA_SECRET_KEY", payment_options.yookassa_secret_key},
             {"VPNBOT_YOOKASSA_ALLOWED_IPS", "127.0.0.1/32"}})
      env.push_back(k + "=" + v);
    gateway =
        ChildProcess::start({vpnbot::testing::kVpnbotBinary, "serve"},
                            with({"VPNBOT_ROLES=gateway", "VPNBOT_INSTANCE_ID=bench-gateway"}), work + "/gateway.log");
    worker = ChildProcess::start(
        {vpnbot::testing::kVpnbotBinary, "serve"},
        with({"VPNBOT_ROLES=worker,scheduler", "VPNBOT_INSTANCE_ID=bench-worker", "VPNBOT_HTTP_LISTEN=127.0.0.1:0"}),
        work + "/worker.log");
  }
  std::vector<std::string> with(std::vector<std::string> extra) const {
    auto e = env;
    e.insert(e.end(), extra.begin(), extra.end());
    return e;
  }
  void stop() {
    gateway.stop(Millis(10000));
    worker.stop(Millis(10000));
  }

  std::vector<std::string> env;
  ChildProcess gateway, worker;
};

}  // namespace vpnbot::bench
