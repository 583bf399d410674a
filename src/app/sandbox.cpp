#include "app/sandbox.hpp"

#include <sodium.h>
#include <unistd.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "app/serve.hpp"
#include "billing/cryptopay/provider.hpp"
#include "billing/heleket/provider.hpp"
#include "billing/webhooks.hpp"
#include "billing/yookassa/provider.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "db/local_cluster.hpp"
#include "emulator/emulator_thread.hpp"
#include "vpn/keys.hpp"

extern char** environ;

namespace vpnbot::app {
namespace {

// The demo node's addresses (seed_demo_data): its endpoint lives in the namespace, the host side of the
// veth pair is the next address, so a client on this box reaches the node like a real server.
constexpr const char* kNodeName = "sandbox-nl";
constexpr const char* kNodeEndpoint = "10.200.0.1/30";
constexpr const char* kHostSide = "10.200.0.2/30";
constexpr const char* kNamespacePrefix = "vpnbot-sb-";

int quiet(const std::vector<std::string>& argv) {
  return run_process(argv, "/dev/null");
}

bool in_path(const std::string& program) {
  return run_shell("command -v " + program) == 0;
}

// Namespaces left by a sandbox that was SIGKILLed (its pid is gone): removed so addresses do not collide.
void remove_stale_namespaces() {
  std::istringstream lines(shell_output("ip netns list 2>/dev/null"));
  for (std::string line; std::getline(lines, line);) {
    std::string name = line.substr(0, line.find(' '));
    if (name.rfind(kNamespacePrefix, 0) != 0) continue;
    pid_t owner = static_cast<pid_t>(std::atol(name.c_str() + std::strlen(kNamespacePrefix)));
    if (owner > 0 && ::kill(owner, 0) == 0) continue;
    remove_network_namespace(name);
    log::info("sandbox", "removed a namespace left by an earlier sandbox", {{"netns", name}});
  }
}

// The VPN node of the sandbox: a network namespace with a veth pair to this box and a wg-agent (wireguard-go)
// inside it. Everything is removed by stop(), also when start() failed half-way.
class SandboxNode {
 public:
  explicit SandboxNode(std::string state_dir)
      : namespace_(kNamespacePrefix + std::to_string(getpid())),
        veth_host_("vbsb" + std::to_string(getpid() % 100000) + "h"),
        veth_node_("vbsb" + std::to_string(getpid() % 100000) + "n"),
        state_dir_(std::move(state_dir)) {}
  ~SandboxNode() { stop(); }

  // Empty when it runs; otherwise why the tunnel is not available here.
  std::string start(const std::map<std::string, std::string>& env) {
    if (geteuid() != 0) return "needs root (CAP_NET_ADMIN) for a network namespace";
    if (access("/dev/net/tun", R_OK | W_OK) != 0) return "/dev/net/tun is not available";
    for (const char* program : {"ip", "wg", "wireguard-go"})
      if (!in_path(program)) return std::string(program) + " is not installed";
    remove_stale_namespaces();
    if (quiet({"ip", "netns", "add", namespace_}) != 0) return "cannot create a network namespace";
    created_ = true;
    bool ok = quiet({"ip", "link", "add", veth_host_, "type", "veth", "peer", "name", veth_node_}) == 0 &&
              quiet({"ip", "link", "set", veth_node_, "netns", namespace_}) == 0 &&
              quiet({"ip", "addr", "add", kHostSide, "dev", veth_host_}) == 0 &&
              quiet({"ip", "link", "set", veth_host_, "up"}) == 0 &&
              quiet({"ip", "-n", namespace_, "addr", "add", kNodeEndpoint, "dev", veth_node_}) == 0 &&
              quiet({"ip", "-n", namespace_, "link", "set", veth_node_, "up"}) == 0 &&
              quiet({"ip", "-n", namespace_, "link", "set", "lo", "up"}) == 0;
    if (!ok) {
      stop();
      return "cannot set up the veth pair (is 10.200.0.0/30 already in use?)";
    }
    std::vector<std::string> environment;
    for (char** e = environ; *e; ++e)
      if (std::string_view(*e).rfind("VPNBOT_", 0) != 0) environment.emplace_back(*e);
    for (const char* key : {"VPNBOT_DATABASE_URL", "VPNBOT_MASTER_KEY_FILE", "VPNBOT_LOG_LEVEL"})
      if (auto it = env.find(key); it != env.end()) environment.push_back(std::string(key) + "=" + it->second);
    std::string self = std::filesystem::read_symlink("/proc/self/exe");
    std::vector<std::string> argv{"ip",      "netns",       "exec",     namespace_,  self,  "wg-agent",   "--node",
                                  kNodeName, "--state-dir", state_dir_, "--poll-ms", "500", "--stats-ms", "5000"};
    agent_ = ChildProcess::start(argv, environment, "");
    // What systemd's Restart=always does in production: an agent that exits (lost lease, an error) is started again.
    supervisor_ = std::thread([this, argv, environment] {
      std::unique_lock lock(mutex_);
      while (!stopping_) {
        if (!agent_.running()) {
          log::warn("sandbox", "wg-agent exited; starting it again", {{"status", agent_.stop(Millis(0))}});
          agent_ = ChildProcess::start(argv, environment, "");
        }
        wake_.wait_for(lock, Millis(1000));
      }
    });
    return "";
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (supervisor_.joinable()) supervisor_.join();
    if (agent_.pid()) agent_.stop(Millis(5000));
    if (!created_) return;
    // wireguard-go detaches from the agent: whatever still runs in the namespace goes with it.
    remove_network_namespace(namespace_);
    quiet({"ip", "link", "del", veth_host_});  // normally gone with the namespace
    created_ = false;
    log::info("sandbox", "removed the VPN node's network namespace", {{"netns", namespace_}});
  }

  const std::string& name() const { return namespace_; }

 private:
  std::string namespace_, veth_host_, veth_node_, state_dir_;
  bool created_ = false;
  ChildProcess agent_;  // guarded by mutex_ while the supervisor runs
  std::thread supervisor_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

std::string random_secret() {
  unsigned char bytes[24];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

}  // namespace

int run_sandbox(const std::optional<std::string>& config_file, std::map<std::string, std::string> env) {
  auto config = load_config(config_file, env, false);
  log::init(config.process.log_level);
  // A sandbox that was SIGKILLed left its PostgreSQL running: stop it and free its directory first.
  db::LocalCluster::remove_abandoned();
  log::info("sandbox", "starting a throwaway PostgreSQL");
  db::LocalCluster cluster(db::LocalCluster::Options{.fsync = true});
  cluster.start();
  // The Telegram emulator on its own thread: the bot reaches it exactly as it would reach Telegram.
  emulator::TelegramEmulatorThread telegram;
  env["VPNBOT_DATABASE_URL"] = cluster.url();
  env.try_emplace("VPNBOT_TELEGRAM_MODE", "webhook");
  env.try_emplace("VPNBOT_TELEGRAM_API_URL", telegram.base_url());
  env.try_emplace("VPNBOT_TELEGRAM_TOKEN", emulator::TelegramEmulatorOptions{}.token);
  env.try_emplace("VPNBOT_TELEGRAM_WEBHOOK_SECRET", random_secret());
  // User 1000 of the web chat is the sandbox's admin: /admin opens the panel.
  env.try_emplace("VPNBOT_ADMIN_IDS", "1000");
  // A support group (a forum in the emulator): Support in the menu opens tickets, each a topic there.
  constexpr int64_t kSupportGroup = -1000000000001;
  telegram.call([](emulator::TelegramEmulator& t) {
    t.add_forum(kSupportGroup, "vpnbot sandbox support");
    return 0;
  });
  env.try_emplace("VPNBOT_SUPPORT_CHAT_ID", std::to_string(kSupportGroup));
  // A required channel: the shop asks users to join it first (in the web chat, its Subscribe button joins).
  telegram.call([](emulator::TelegramEmulator& t) {
    t.add_channel("@vpnbot_sandbox");
    return 0;
  });
  env.try_emplace("VPNBOT_REQUIRED_CHANNELS", "@vpnbot_sandbox");
  if (!env.count("VPNBOT_MASTER_KEY_FILE")) {
    env["VPNBOT_MASTER_KEY_FILE"] = cluster.dir() + "/master.key";
    vpn::SecretBox::from_file(env["VPNBOT_MASTER_KEY_FILE"], true);
  }
  env.try_emplace("VPNBOT_PUBLIC_URL",
                  "http://" + config.http.listen.host + ":" + std::to_string(config.http.listen.port));
  // YooKassa, Heleket and Crypto Pay emulators: same code paths as production, only the base URLs differ.
  log::info("sandbox", "starting the Telegram, YooKassa, Heleket and Crypto Pay emulators");
  emulator::PaymentsEmulatorOptions payment_options;
  payment_options.yookassa_webhook_url = env["VPNBOT_PUBLIC_URL"] + billing::kYooKassaWebhookPath;
  payment_options.cryptopay_webhook_url = env["VPNBOT_PUBLIC_URL"] + billing::kCryptoPayWebhookPath;
  payment_options.chat_url = telegram.base_url() + "/";
  emulator::PaymentsEmulatorThread payments(payment_options);
  // A Remnawave panel emulator: the Xray location beside the WireGuard node.
  emulator::RemnawaveEmulatorOptions panel_options;
  emulator::RemnawaveEmulatorThread panel(panel_options);
  remnawave::PanelNodeSpec panel_node;
  panel_node.name = "sandbox-xray";
  panel_node.country_code = "NL";
  panel_node.location = "Amsterdam (sandbox)";
  panel_node.panel_url = panel.base_url();
  panel_node.token = panel_options.token;
  panel_node.squads = {panel_options.squads.begin()->first};
  env.try_emplace("VPNBOT_YOOKASSA_API_URL", payments.base_url());
  env.try_emplace("VPNBOT_YOOKASSA_SHOP_ID", payment_options.yookassa_shop_id);
  env.try_emplace("VPNBOT_YOOKASSA_SECRET_KEY", payment_options.yookassa_secret_key);
  env.try_emplace("VPNBOT_YOOKASSA_RETURN_URL", telegram.base_url() + "/");
  env.try_emplace("VPNBOT_YOOKASSA_ALLOWED_IPS", "127.0.0.1/32,::1/128");
  env.try_emplace("VPNBOT_YOOKASSA_SAVE_CARDS", "true");  // autopayments: the checkout offers to save the card
  env.try_emplace("VPNBOT_HELEKET_API_URL", payments.base_url());
  env.try_emplace("VPNBOT_HELEKET_MERCHANT", payment_options.heleket_merchant);
  env.try_emplace("VPNBOT_HELEKET_API_KEY", payment_options.heleket_api_key);
  env.try_emplace("VPNBOT_CRYPTOPAY_API_URL", payments.base_url());
  env.try_emplace("VPNBOT_CRYPTOPAY_TOKEN", payment_options.cryptopay_token);
  config = load_config(config_file, env);
  log::info("sandbox",
            "applying migrations and demo data (plans, a traffic-limited plan and traffic packages, promo codes, a "
            "WireGuard node, an Xray location)");
  if (int rc = migrate(config, false)) return rc;
  if (int rc = seed_sandbox(config, panel_node)) return rc;

  SandboxNode node(cluster.dir() + "/wg");
  std::string no_tunnel = node.start(env);
  if (no_tunnel.empty())
    log::info("sandbox", "VPN node running: wg-agent with wireguard-go in a network namespace",
              {{"netns", node.name()}, {"endpoint", "10.200.0.1:51820"}, {"node", kNodeName}});
  else
    log::warn("sandbox", "VPN node not started: configs are issued but no tunnel serves them", {{"reason", no_tunnel}});

  log::info("sandbox", "ready: open the web chat in a browser", {{"web_chat", telegram.base_url() + "/"}});
  log::info("sandbox", "or talk to the bot through the Telegram emulator's client API",
            {{"database_url", config.db.url},
             {"bot_http", config.http.public_url},
             {"payments_emulator", payments.base_url()},
             {"remnawave_emulator", panel.base_url()},
             {"admin_user_id", env["VPNBOT_ADMIN_IDS"]},
             {"promo_codes",
              "WELCOME20 (-20%), GIFT100 (100 RUB on the balance), WEEK (7 days), FRIENDS (a 15% personal discount)"},
             {"telegram_emulator", telegram.base_url()},
             {"support_topics", telegram.base_url() + "/client/forum/state?chat_id=" + env["VPNBOT_SUPPORT_CHAT_ID"]},
             {"required_channel", env["VPNBOT_REQUIRED_CHANNELS"] + " (join: POST " + telegram.base_url() +
                                      "/client/channel/join {\"channel\", \"user_id\"})"},
             {"try", "curl -s " + telegram.base_url() +
                         "/client/send_message -d '{\"user_id\":1,\"text\":\"/start\"}' && sleep 2 && curl -s '" +
                         telegram.base_url() + "/client/messages?chat_id=1'"}});
  if (isatty(STDERR_FILENO))  // a person at a terminal: the one thing to do next, outside the JSON log
    std::fprintf(stderr, "\n  vpnbot sandbox is ready. Open %s/ in a browser (Ctrl-C stops everything).\n\n",
                 telegram.base_url().c_str());
  int rc = serve(config);
  node.stop();
  log::info("sandbox", "removing the throwaway PostgreSQL", {{"dir", cluster.dir()}});
  return rc;
}

}  // namespace vpnbot::app
