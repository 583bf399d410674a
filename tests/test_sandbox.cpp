// `vpnbot sandbox`, the README's first command, as a newcomer uses it: the real binary starts everything itself,
// a scripted user buys a plan through the emulated YooKassa checkout page, receives the config and its QR code,
// sees the expiry date, and (where network namespaces work) brings up a tunnel with the received config. Ctrl-C
// must leave nothing behind: no process, no namespace, no temp dir.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <sodium.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/process.hpp"
#include "support/build_paths.hpp"
#include "support/emulator_thread.hpp"
#include "support/process.hpp"

using json = nlohmann::json;
using vpnbot::Millis;
using vpnbot::remove_network_namespace;
using vpnbot::run_shell;
using vpnbot::shell_output;
using vpnbot::testing::http_request;
using vpnbot::testing::wait_until;

namespace {

// Processes (other than this test) whose command line contains `needle`.
std::vector<std::string> processes_with(const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == std::to_string(getpid())) continue;
    // A process that exits while it is read fails the read (ESRCH): the stream's failbit says so, and it is not one
    // left behind.
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::stringstream read;
    read << in.rdbuf();
    std::string cmdline = read.str();
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) found.push_back(pid + ": " + cmdline);
  }
  return found;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The first JSON log line of the sandbox whose "msg" starts with `msg`.
std::optional<json> log_event(const std::string& output, const std::string& msg) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg", "").rfind(msg, 0) == 0) return j;
  }
  return std::nullopt;
}

std::string query_param(const std::string& url, const std::string& key) {
  auto at = url.find(key + "=");
  if (at == std::string::npos) return "";
  auto end = url.find('&', at);
  return url.substr(at + key.size() + 1, end == std::string::npos ? std::string::npos : end - at - key.size() - 1);
}

// A user of the web chat, driven through the Telegram emulator's client API exactly as the page drives it.
class ChatUser {
 public:
  ChatUser(std::string chat_url, int64_t id) : base_(std::move(chat_url)), id_(id) {}

  json post(const std::string& path, json body) {
    body["user_id"] = id_;
    body["first_name"] = "Alice";
    auto [status, text] = http_request("POST", base_ + path, body.dump());
    EXPECT_EQ(status, 200) << path << ": " << text;
    return json::parse(text, nullptr, false);
  }
  json bot_messages() {
    auto [status, text] = http_request("GET", base_ + "/client/messages?chat_id=" + std::to_string(id_), "");
    json out = json::array();
    auto all = json::parse(text, nullptr, false);
    if (all.is_object())
      for (auto& m : all["messages"])
        if (m.value("from_bot", false)) out.push_back(m);
    return out;
  }
  std::optional<json> find(const std::function<bool(const json&)>& match) {
    auto messages = bot_messages();
    for (auto it = messages.rbegin(); it != messages.rend(); ++it)
      if (match(*it)) return *it;
    return std::nullopt;
  }
  bool wait_text(const std::string& needle) {
    return wait_until(
        [&] { return find([&](const json& m) { return text_of(m).find(needle) != std::string::npos; }).has_value(); },
        Millis(30000));
  }
  // The newest inline button whose label starts with `label`: {message_id, button}.
  std::optional<std::pair<int64_t, json>> button(const std::string& label) {
    auto messages = bot_messages();
    for (auto it = messages.rbegin(); it != messages.rend(); ++it)
      if (it->contains("reply_markup"))
        for (auto& row : (*it)["reply_markup"]["inline_keyboard"])
          for (auto& b : row)
            if (b.value("text", "").rfind(label, 0) == 0) return std::pair{(*it)["message_id"].get<int64_t>(), b};
    return std::nullopt;
  }
  // Waits for the button and taps it (callback buttons) or returns its URL (link buttons).
  std::string tap(const std::string& label) {
    std::optional<std::pair<int64_t, json>> found;
    if (!wait_until([&] { return (found = button(label)).has_value(); }, Millis(30000))) {
      ADD_FAILURE() << "no button '" << label << "' in\n" << bot_messages().dump(1);
      return "";
    }
    auto& [message_id, b] = *found;
    if (b.contains("url")) return b["url"];
    post("/client/press", {{"message_id", message_id}, {"data", b["callback_data"]}});
    return "";
  }
  static std::string text_of(const json& m) { return m.value("text", "") + m.value("caption", ""); }
  std::string file(int64_t message_id) {
    return http_request(
               "GET",
               base_ + "/client/file?chat_id=" + std::to_string(id_) + "&message_id=" + std::to_string(message_id), "")
        .second;
  }

 private:
  std::string base_;
  int64_t id_;
};

std::map<std::string, std::string> parse_conf(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find(" = ");
    if (eq != std::string::npos) out[line.substr(0, eq)] = line.substr(eq + 3);
  }
  return out;
}

// A phone on the sandbox's "internet": a namespace with a veth into the sandbox node's namespace, so the node's
// endpoint (10.200.0.1) is one hop away, and WireGuard (wireguard-go) set up from a received .conf.
struct ClientNamespace {
  std::string name = "vb-sbc-" + std::to_string(getpid());
  std::string veth = "vbsc" + std::to_string(getpid() % 100000);
  ~ClientNamespace() { remove_network_namespace(name); }
  bool connect(const std::string& node_namespace, const std::map<std::string, std::string>& conf,
               const std::string& dir) {
    std::ofstream(dir + "/client.key") << conf.at("PrivateKey") << "\n";
    std::ofstream(dir + "/client.psk") << conf.at("PresharedKey") << "\n";
    std::string address = conf.at("Address").substr(0, conf.at("Address").find(','));
    return run_shell("ip netns add " + name) == 0 &&
           run_shell("ip link add " + veth + "a type veth peer name " + veth + "b") == 0 &&
           run_shell("ip link set " + veth + "a netns " + node_namespace) == 0 &&
           run_shell("ip link set " + veth + "b netns " + name) == 0 &&
           run_shell("ip -n " + node_namespace + " addr add 10.201.0.1/30 dev " + veth + "a") == 0 &&
           run_shell("ip -n " + node_namespace + " link set " + veth + "a up") == 0 &&
           run_shell("ip -n " + name + " addr add 10.201.0.2/30 dev " + veth + "b") == 0 &&
           run_shell("ip -n " + name + " link set " + veth + "b up") == 0 &&
           run_shell("ip -n " + name + " route add 10.200.0.0/30 via 10.201.0.1") == 0 &&
           run_shell("ip netns exec " + name + " wireguard-go wgphone") == 0 &&
           // AllowedIPs narrowed to the tunnel subnet: the test's namespace keeps its own routes.
           run_shell("ip netns exec " + name + " wg set wgphone private-key " + dir + "/client.key peer " +
                     conf.at("PublicKey") + " preshared-key " + dir + "/client.psk endpoint " + conf.at("Endpoint") +
                     " allowed-ips 10.66.0.0/24 persistent-keepalive 1") == 0 &&
           run_shell("ip -n " + name + " addr add " + address + " dev wgphone") == 0 &&
           run_shell("ip -n " + name + " link set wgphone up") == 0 &&
           run_shell("ip -n " + name + " route add 10.66.0.0/24 dev wgphone") == 0;
  }
  bool ping(const std::string& address) {
    return run_shell("ip netns exec " + name + " ping -c 1 -W 1 " + address) == 0;
  }
};

// A headless Chromium driven through chromedriver's W3C WebDriver API (plain HTTP + JSON).
class Browser {
 public:
  static std::string why_unavailable() {
    if (run_shell("command -v chromium && command -v chromedriver") != 0)
      return "chromium and chromium-driver are not installed (scripts/test installs them)";
    return "";
  }
  explicit Browser(const std::string& log_file) {
    port_ = vpnbot::testing::free_port();
    driver_ = vpnbot::ChildProcess::start({"chromedriver", "--port=" + std::to_string(port_)},
                                          {"PATH=/usr/bin:/bin", "HOME=/tmp"}, log_file);
    base_ = "http://127.0.0.1:" + std::to_string(port_);
    wait_until([&] { return http_request("GET", base_ + "/status", "").first == 200; }, Millis(20000));
    // The flags the machine needs: no sandbox as root, and no background traffic to the (closed) internet.
    json args = json::array({"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             "--disable-dev-shm-usage", "--disable-popup-blocking", "--window-size=1000,900",
                             "--user-data-dir=" + log_file + ".profile"});
    auto session =
        call("POST", "/session",
             {{"capabilities",
               {{"alwaysMatch", {{"goog:chromeOptions", {{"binary", "/usr/bin/chromium"}, {"args", args}}}}}}}});
    session_ = session["value"].value("sessionId", "");
  }
  ~Browser() {
    if (!session_.empty()) http_request("DELETE", base_ + "/session/" + session_, "");
  }
  bool ok() const { return !session_.empty(); }

  json call(const std::string& method, const std::string& path, const json& body = json::object()) {
    auto [status, text] =
        http_request(method, base_ + path, method == "GET" ? "" : body.dump(), {"Content-Type: application/json"});
    auto j = json::parse(text, nullptr, false);
    return j.is_discarded() ? json{{"value", {{"error", text}}}} : j;
  }
  json session_call(const std::string& method, const std::string& path, const json& body = json::object()) {
    return call(method, "/session/" + session_ + path, body);
  }
  void open(const std::string& url) { session_call("POST", "/url", {{"url", url}}); }
  json script(const std::string& code, json args = json::array()) {
    return session_call("POST", "/execute/sync", {{"script", code}, {"args", args}})["value"];
  }
  std::string body_text() {
    auto v = script("return document.body.innerText;");
    return v.is_string() ? v.get<std::string>() : "";
  }
  bool wait_text(const std::string& needle, Millis timeout = Millis(30000)) {
    return wait_until([&] { return body_text().find(needle) != std::string::npos; }, timeout);
  }
  // Clicks the newest button whose label contains `label` (a real click through WebDriver). The chat re-renders
  // when messages change, so a button found a moment ago may be stale: find and click again until one click lands.
  bool click_button(const std::string& label) {
    return click_last("xpath", "//button[contains(normalize-space(.), '" + label + "')]");
  }
  // Clicks the last element found by a WebDriver locator ("css selector", "xpath"), retrying stale finds.
  bool click_last(const std::string& strategy, const std::string& selector) {
    return wait_until(
        [&] {
          auto r = session_call("POST", "/elements", {{"using", strategy}, {"value", selector}});
          if (!r["value"].is_array() || r["value"].empty()) return false;
          std::string element = r["value"].back().begin().value();
          return session_call("POST", "/element/" + element + "/click")["value"].is_null();
        },
        Millis(30000));
  }
  // Types into a prompt() dialog and accepts it.
  bool answer_prompt(const std::string& text) {
    return wait_until(
        [&] {
          return session_call("POST", "/alert/text", {{"text", text}})["value"].is_null() &&
                 session_call("POST", "/alert/accept")["value"].is_null();
        },
        Millis(10000));
  }
  bool type(const std::string& css, const std::string& text) {
    auto r = session_call("POST", "/element", {{"using", "css selector"}, {"value", css}});
    if (!r["value"].is_object() || r["value"].empty()) return false;
    std::string element = r["value"].begin().value();
    return session_call("POST", "/element/" + element + "/value", {{"text", text}})["value"].is_null();
  }
  std::vector<std::string> windows() { return session_call("GET", "/window/handles")["value"]; }
  std::string window() { return session_call("GET", "/window")["value"]; }
  void switch_to(const std::string& handle) { session_call("POST", "/window", {{"handle", handle}}); }
  // Saves a PNG screenshot; returns whether one was written.
  bool screenshot(const std::string& path) {
    std::string b64 = session_call("GET", "/screenshot")["value"];
    std::string png(b64.size(), '\0');
    size_t length = 0;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(png.data()), png.size(), b64.data(), b64.size(), nullptr,
                          &length, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
      return false;
    png.resize(length);
    std::ofstream(path, std::ios::binary) << png;
    return length > 0;
  }

 private:
  uint16_t port_ = 0;
  std::string base_, session_;
  vpnbot::ChildProcess driver_;
};

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = ::testing::TempDir() + "/sandbox-" + std::to_string(getpid());
    std::filesystem::create_directories(dir);
    start_sandbox();
  }

  // A test that failed half-way still stops its sandbox cleanly (a SIGKILL would leave its PostgreSQL behind).
  void TearDown() override {
    sandbox.signal(SIGINT);
    sandbox.wait(Millis(60000));
  }

  void start_sandbox() {
    port = vpnbot::testing::free_port();
    web_chat = database_url = node_namespace = "";
    sandbox = vpnbot::testing::spawn_vpnbot(
        {"sandbox"}, {{"VPNBOT_HTTP_LISTEN", "127.0.0.1:" + std::to_string(port)}, {"VPNBOT_LOG_LEVEL", "info"}});
    ASSERT_TRUE(wait_until([&] { return log_event(sandbox.output(), "ready").has_value(); }, Millis(90000)))
        << sandbox.output();
    auto ready = *log_event(sandbox.output(), "ready");
    auto details = *log_event(sandbox.output(), "or talk to the bot");
    web_chat = ready["web_chat"];
    if (web_chat.back() == '/') web_chat.pop_back();
    database_url = details["database_url"];
    if (auto node = log_event(sandbox.output(), "VPN node running")) node_namespace = (*node)["netns"];
  }

  // Ctrl-C: the sandbox ends with 0 and removes its cluster, its namespace and every process it started.
  void stop_and_check_nothing_is_left() {
    std::string cluster_dir = query_param(database_url, "host");
    ASSERT_FALSE(cluster_dir.empty()) << database_url;
    ASSERT_TRUE(std::filesystem::exists(cluster_dir));
    sandbox.signal(SIGINT);
    EXPECT_EQ(sandbox.wait(Millis(60000)), 0)
        << sandbox.output().substr(sandbox.output().size() > 4000 ? sandbox.output().size() - 4000 : 0);
    EXPECT_FALSE(std::filesystem::exists(cluster_dir)) << "the throwaway cluster's directory is removed";
    EXPECT_EQ(joined(processes_with(cluster_dir)), "") << "no postgres of the sandbox is left";
    if (!node_namespace.empty()) {
      EXPECT_EQ(shell_output("ip netns list | grep -c '^" + node_namespace + "\\b' || true"), "0\n");
      EXPECT_EQ(joined(processes_with("ip netns exec " + node_namespace)), "") << "the wg-agent is stopped";
    }
    EXPECT_NE(http_request("GET", web_chat + "/", "").first, 200) << "the emulator is gone";
  }

  std::string dir, web_chat, database_url, node_namespace;
  uint16_t port = 0;
  vpnbot::testing::Process sandbox;
};

TEST_F(SandboxTest, BuyByCardAndCryptoPayReceiveConfigAndQrSeeExpiryThenCtrlCLeavesNothing) {
  // The web chat page itself is served.
  auto page = http_request("GET", web_chat + "/", "");
  EXPECT_EQ(page.first, 200);
  EXPECT_NE(page.second.find("vpnbot sandbox"), std::string::npos);

  ChatUser alice(web_chat, 1001);
  alice.post("/client/send_message", {{"text", "/start"}});
  ASSERT_TRUE(alice.wait_text("Main menu")) << sandbox.output().substr(0, 4000);
  // The sandbox's required channel: asked first, joined (as the Subscribe button does in Telegram), then the shop.
  alice.tap("🛒 Buy VPN");
  ASSERT_TRUE(alice.wait_text("Join our channel first")) << alice.bot_messages().dump(1);
  alice.post("/client/channel/join", {{"channel", "@vpnbot_sandbox"}});
  alice.tap("✅ I've subscribed");
  ASSERT_TRUE(alice.wait_text("Plans"));
  EXPECT_TRUE(alice.wait_text("Lite: 30 days, 50 GB")) << "the traffic-limited plan";
  alice.tap("1 month");
  ASSERT_TRUE(alice.wait_text("Choose how to pay"));
  alice.tap("💳 Card / SBP");
  ASSERT_TRUE(alice.wait_text("Confirm your order"));
  alice.tap("✅ Confirm and pay");
  std::string checkout = alice.tap("💳 Pay");
  ASSERT_EQ(checkout.rfind("http://127.0.0.1:", 0), 0u) << "a link to the emulated YooKassa checkout: " << checkout;
  auto checkout_page = http_request("GET", checkout, "");
  EXPECT_EQ(checkout_page.first, 200);
  EXPECT_NE(checkout_page.second.find("YooKassa (emulated)"), std::string::npos) << checkout_page.second;
  auto paid = http_request("POST", checkout + "/pay", "");
  EXPECT_EQ(paid.first, 200);
  EXPECT_NE(paid.second.find("Payment complete"), std::string::npos) << paid.second;

  ASSERT_TRUE(alice.wait_text("Payment received")) << sandbox.output().substr(0, 6000);
  std::string receipt = ChatUser::text_of(
      *alice.find([](const json& m) { return ChatUser::text_of(m).find("Payment received") != std::string::npos; }));
  auto until = receipt.find("active until <b>");
  ASSERT_NE(until, std::string::npos) << receipt;
  std::string expiry_date = receipt.substr(until + 16, 10);  // YYYY-MM-DD

  std::optional<json> document, photo;
  ASSERT_TRUE(wait_until(
      [&] {
        document = alice.find([](const json& m) { return m.contains("document"); });
        photo = alice.find([](const json& m) { return m.contains("photo"); });
        return document && photo;
      },
      Millis(30000)))
      << alice.bot_messages().dump(1);
  std::string conf_text = alice.file((*document)["message_id"]);
  auto conf = parse_conf(conf_text);
  EXPECT_TRUE(conf.count("PrivateKey") && conf.count("Endpoint")) << conf_text;
  EXPECT_EQ(conf["Endpoint"], "10.200.0.1:51820");
  std::string png = alice.file((*photo)["message_id"]);
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG") << "the QR code is a PNG image";

  alice.tap("📅 My subscription");  // the receipt's own button
  ASSERT_TRUE(wait_until(
      [&] {
        auto screen =
            alice.find([](const json& m) { return ChatUser::text_of(m).find("My subscription") != std::string::npos; });
        return screen && ChatUser::text_of(*screen).find(expiry_date) != std::string::npos;
      },
      Millis(30000)))
      << "My subscription shows the expiry " << expiry_date << "\n"
      << alice.bot_messages().dump(1);

  // The received config really works: a tunnel to the sandbox's node, through the node's wg-agent.
  if (node_namespace.empty()) {
    std::cout << "[  NOTE    ] the sandbox ran without a VPN node (needs root, /dev/net/tun, wireguard-go): the tunnel "
                 "part of this test is skipped, not passed\n";
  } else {
    // The node's agent dies (SIGKILL): the sandbox starts it again, as systemd would, and the tunnel works.
    auto agents = processes_with("wg-agent --node sandbox-nl");
    ASSERT_EQ(agents.size(), 1u) << joined(agents);
    std::string killed_pid = agents[0].substr(0, agents[0].find(':'));
    ::kill(std::stoi(killed_pid), SIGKILL);
    EXPECT_TRUE(wait_until(
        [&] {
          auto now = processes_with("wg-agent --node sandbox-nl");
          return now.size() == 1 && now[0].rfind(killed_pid + ":", 0) != 0;
        },
        Millis(15000)))
        << "a new agent runs";
    ClientNamespace phone;
    ASSERT_TRUE(phone.connect(node_namespace, conf, dir))
        << shell_output("ip netns list; ip -n " + node_namespace + " addr");
    EXPECT_TRUE(wait_until([&] { return phone.ping("10.66.0.1"); }, Millis(30000)))
        << shell_output("ip netns exec " + node_namespace + " wg show all; ip netns exec " + phone.name +
                        " wg show all")
        << sandbox.output();
  }
  // Crypto through Crypto Pay (@CryptoBot), the same way: its invoice page, its signed webhook, the receipt.
  ChatUser bob(web_chat, 1002);
  bob.post("/client/send_message", {{"text", "/start"}});
  ASSERT_TRUE(bob.wait_text("Main menu"));
  bob.post("/client/channel/join", {{"channel", "@vpnbot_sandbox"}});
  bob.tap("🛒 Buy VPN");
  ASSERT_TRUE(bob.wait_text("Plans"));
  bob.tap("1 month");
  ASSERT_TRUE(bob.wait_text("Choose how to pay"));
  bob.tap("🤖 Crypto via @CryptoBot");
  ASSERT_TRUE(bob.wait_text("Confirm your order"));
  bob.tap("✅ Confirm and pay");
  std::string invoice = bob.tap("💳 Pay");
  ASSERT_NE(invoice.find("/checkout/cryptopay/"), std::string::npos) << "the bot_invoice_url: " << invoice;
  auto invoice_page = http_request("GET", invoice, "");
  EXPECT_NE(invoice_page.second.find("Crypto Pay (emulated)"), std::string::npos) << invoice_page.second;
  EXPECT_NE(invoice_page.second.find("199.00 RUB"), std::string::npos) << "an invoice in roubles";
  EXPECT_EQ(http_request("POST", invoice + "/pay", "").first, 200);
  ASSERT_TRUE(bob.wait_text("Payment received")) << sandbox.output().substr(0, 6000);
  // A support ticket: Support in the menu, one message, and its topic in the sandbox's support group.
  auto details = *log_event(sandbox.output(), "or talk to the bot");
  std::string topics = details["support_topics"];
  bob.post("/client/send_message", {{"text", "/start"}});
  bob.tap("🆘 Support");
  ASSERT_TRUE(bob.wait_text("Describe your problem"));
  bob.post("/client/send_message", {{"text", "The VPN is slow in the evening"}});
  ASSERT_TRUE(bob.wait_text("Ticket #1 is open")) << bob.bot_messages().dump(1);
  ASSERT_TRUE(wait_until(
      [&] {
        auto state = json::parse(http_request("GET", topics, "").second, nullptr, false);
        return state.is_object() && state["topics"].size() == 1 &&
               state.dump().find("The VPN is slow in the evening") != std::string::npos;
      },
      Millis(30000)))
      << http_request("GET", topics, "").second;
  stop_and_check_nothing_is_left();
}

// A sandbox killed with SIGKILL cannot clean up: its PostgreSQL, its VPN node's namespace and processes stay. The
// next sandbox removes them before it starts, and still ends clean itself.
TEST_F(SandboxTest, NextStartRemovesWhatAKilledSandboxLeft) {
  std::string killed_cluster = query_param(database_url, "host"), killed_namespace = node_namespace;
  sandbox.signal(SIGKILL);
  sandbox.wait(Millis(10000));
  ASSERT_TRUE(std::filesystem::exists(killed_cluster));
  EXPECT_NE(joined(processes_with(killed_cluster)), "") << "its postgres outlived it";
  start_sandbox();
  EXPECT_FALSE(std::filesystem::exists(killed_cluster)) << "the abandoned cluster is removed";
  EXPECT_EQ(joined(processes_with(killed_cluster)), "") << "and its postgres stopped";
  if (!killed_namespace.empty()) {
    EXPECT_EQ(shell_output("ip netns list | grep -c '^" + killed_namespace + "\\b' || true"), "0\n");
    EXPECT_EQ(joined(processes_with("ip netns exec " + killed_namespace)), "") << "its wg-agent is gone";
    EXPECT_FALSE(node_namespace.empty()) << "the new sandbox's node starts (addresses and socket are free)";
  }
  ChatUser alice(web_chat, 1001);
  alice.post("/client/send_message", {{"text", "/start"}});
  EXPECT_TRUE(alice.wait_text("Main menu")) << sandbox.output().substr(0, 4000);
  stop_and_check_nothing_is_left();
}

// The same purchase in a real browser: the web chat page, its buttons, the checkout page in a new tab, the QR
// image. Screenshots of each step are kept in build/test-artifacts/ for a person to look at.
TEST_F(SandboxTest, BrowserBuysPlanInWebChat) {
  if (auto why = Browser::why_unavailable(); !why.empty()) {
    stop_and_check_nothing_is_left();
    GTEST_SKIP() << why << ": skipped, not passed";
  }
  std::string artifacts = std::string(vpnbot::testing::kTestHelperDir) + "/../test-artifacts";
  std::filesystem::create_directories(artifacts);
  Browser browser(dir + "/chromedriver.log");
  ASSERT_TRUE(browser.ok()) << "chromedriver could not start Chromium";
  browser.open(web_chat + "/?user=1005&name=Dora");
  ASSERT_TRUE(browser.wait_text("vpnbot sandbox"));
  ASSERT_TRUE(browser.type("#text", "/start"));
  ASSERT_TRUE(browser.click_button("Send"));
  ASSERT_TRUE(browser.wait_text("Main menu")) << browser.body_text();
  browser.screenshot(artifacts + "/1-main-menu.png");
  ASSERT_TRUE(browser.click_button("Buy VPN"));
  ASSERT_TRUE(browser.wait_text("Join our channel first")) << browser.body_text();
  ASSERT_TRUE(browser.click_button("Subscribe: @vpnbot_sandbox"));
  ASSERT_TRUE(browser.wait_text("Joined @vpnbot_sandbox")) << browser.body_text();
  ASSERT_TRUE(browser.click_button("subscribed"));
  ASSERT_TRUE(browser.wait_text("Plans")) << browser.body_text();
  ASSERT_TRUE(browser.click_button("1 month"));
  ASSERT_TRUE(browser.click_button("Card / SBP"));
  ASSERT_TRUE(browser.click_button("Confirm and pay"));
  ASSERT_TRUE(browser.wait_text("Tap the button to pay")) << browser.body_text();
  browser.screenshot(artifacts + "/2-payment-link.png");
  std::string chat_window = browser.window();
  ASSERT_TRUE(browser.click_button("Pay 199"));
  std::string checkout_window;
  ASSERT_TRUE(wait_until(
      [&] {
        for (auto& w : browser.windows())
          if (w != chat_window) checkout_window = w;
        return !checkout_window.empty();
      },
      Millis(15000)))
      << "the Pay button opens the emulated checkout page in a new tab";
  browser.switch_to(checkout_window);
  ASSERT_TRUE(browser.wait_text("YooKassa (emulated)")) << browser.body_text();
  browser.screenshot(artifacts + "/3-yookassa-checkout.png");
  ASSERT_TRUE(browser.click_button("Pay"));
  ASSERT_TRUE(browser.wait_text("Payment complete")) << browser.body_text();
  browser.switch_to(chat_window);
  ASSERT_TRUE(browser.wait_text("Payment received")) << browser.body_text();
  ASSERT_TRUE(wait_until(
      [&] {
        auto loaded = browser.script(
            "const i = document.querySelector('img.qr'); return !!i && i.complete && i.naturalWidth > 0;");
        return loaded.is_boolean() && loaded.get<bool>();
      },
      Millis(30000)))
      << "the QR code is shown as an image";
  EXPECT_TRUE(browser.wait_text(".conf")) << "the config file is offered for download";
  browser.screenshot(artifacts + "/4-config-and-qr.png");
  ASSERT_TRUE(browser.click_button("My subscription"));  // the receipt's own button
  EXPECT_TRUE(browser.wait_text("Active until")) << browser.body_text();
  EXPECT_TRUE(browser.screenshot(artifacts + "/5-my-subscription.png"));

  // Referrals in the web chat: the invitation link opens the bot as a new user, and the inviter hears of it.
  ASSERT_TRUE(browser.type("#text", "/start"));
  ASSERT_TRUE(browser.click_button("Send"));
  ASSERT_TRUE(browser.click_button("Referral program"));
  ASSERT_TRUE(browser.wait_text("Your link: https://t.me/")) << browser.body_text();
  ASSERT_TRUE(browser.click_last("css selector", "a.deeplink"));
  ASSERT_TRUE(browser.answer_prompt("1006"));
  ASSERT_TRUE(browser.wait_text("You came by a friend's invitation")) << browser.body_text();
  browser.screenshot(artifacts + "/6-invited-friend.png");
  ASSERT_TRUE(wait_until(
      [&] {
        return ChatUser(web_chat, 1005)
            .find([](const json& m) {
              return ChatUser::text_of(m).find("joined by your invitation link") != std::string::npos;
            })
            .has_value();
      },
      Millis(30000)))
      << "the inviter is told";

  // An Xray plan: the first config is an account on the sandbox's Remnawave location; its link and QR arrive.
  browser.open(web_chat + "/?user=1007&name=Xena");
  ASSERT_TRUE(browser.wait_text("vpnbot sandbox"));
  ASSERT_TRUE(browser.type("#text", "/start"));
  ASSERT_TRUE(browser.click_button("Send"));
  ASSERT_TRUE(browser.wait_text("Main menu")) << browser.body_text();
  ASSERT_TRUE(browser.click_button("Buy VPN"));
  ASSERT_TRUE(browser.click_button("Subscribe: @vpnbot_sandbox"));
  ASSERT_TRUE(browser.wait_text("Joined @vpnbot_sandbox")) << browser.body_text();
  ASSERT_TRUE(browser.click_button("subscribed"));
  ASSERT_TRUE(browser.wait_text("100 GB")) << "the plan list shows the Xray plan's traffic: " << browser.body_text();
  ASSERT_TRUE(browser.click_button("Xray VLESS Reality"));
  ASSERT_TRUE(browser.click_button("Card / SBP"));
  ASSERT_TRUE(browser.click_button("Confirm and pay"));
  ASSERT_TRUE(browser.wait_text("Tap the button to pay")) << browser.body_text();
  std::string xray_chat = browser.window();
  auto known = browser.windows();
  ASSERT_TRUE(browser.click_button("Pay 249"));
  std::string xray_checkout;
  ASSERT_TRUE(wait_until(
      [&] {
        for (auto& w : browser.windows())
          if (std::find(known.begin(), known.end(), w) == known.end()) xray_checkout = w;
        return !xray_checkout.empty();
      },
      Millis(15000)));
  browser.switch_to(xray_checkout);
  ASSERT_TRUE(browser.wait_text("YooKassa (emulated)")) << browser.body_text();
  ASSERT_TRUE(browser.click_button("Pay"));
  ASSERT_TRUE(browser.wait_text("Payment complete")) << browser.body_text();
  browser.switch_to(xray_chat);
  ASSERT_TRUE(browser.wait_text("Your subscription link")) << browser.body_text();
  EXPECT_TRUE(browser.wait_text("Happ")) << "the open-in-app buttons";
  browser.screenshot(artifacts + "/7-xray-subscription-link.png");
  std::cout << "[  NOTE    ] screenshots in " << std::filesystem::canonical(artifacts) << "\n";
  stop_and_check_nothing_is_left();
}

}  // namespace
