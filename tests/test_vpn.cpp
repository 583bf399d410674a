// VPN against a real PostgreSQL: pools, allocation under concurrency (4 worker processes), and a real WireGuard
// tunnel between two network namespaces driven by the real `vpnbot wg-agent`.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/uapi.hpp"
#include "core/process.hpp"
#include "jobs/queue.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"
#include "vpn/client_config.hpp"
#include "vpn/store.hpp"

#include <libpq-fe.h>
#include <atomic>
#include <thread>

using namespace vpnbot;
using vpnbot::testing::AsyncDbTest;

class VpnTest : public AsyncDbTest {
 protected:
  void SetUp() override {
    AsyncDbTest::SetUp();
    char tmpl[] = "/tmp/vpnbot-vpn-XXXXXX";
    dir = mkdtemp(tmpl);
    key_file = dir + "/master.key";
    box = std::make_unique<vpn::SecretBox>(vpn::SecretBox::from_file(key_file, true));
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  void add_users(int from, int to) {
    vpnbot::testing::exec_sync(url, "INSERT INTO users (id, referral_code) SELECT g, 'u' || g FROM generate_series(" +
                                        std::to_string(from) + ", " + std::to_string(to) + ") g");
  }
  bool eventually(const std::function<bool()>& condition, Millis timeout = Millis(30000)) {
    return vpnbot::testing::wait_until(condition, timeout);
  }
  std::string dir, key_file;
  std::unique_ptr<vpn::SecretBox> box;
};

TEST_F(VpnTest, PoolSkipsNetworkGatewayBroadcastAndEnforcesDeviceLimit) {
  auto pool = make_pool();
  vpn::VpnStore store(*pool, *box);
  vpn::NodeSpec spec{"nl-1", "NL", "Amsterdam", "198.51.100.7", 51820, "wg0", "10.8.0.0/24"};
  auto node = run(store.add_node(spec));
  EXPECT_EQ(node.gateway_address, "10.8.0.1");
  for (const char* bad : {"", "wg0'; reboot", "interface-name-too-long", "wg 0"}) {
    vpn::NodeSpec rejected{std::string("bad-") + bad, "NL", "Amsterdam", "198.51.100.8", 51820, bad, "10.9.0.0/24"};
    EXPECT_THROW(run(store.add_node(rejected)), std::invalid_argument) << bad;
  }
  EXPECT_EQ(count("SELECT count(*) FROM vpn_nodes"), 1) << "a refused node stores nothing";
  EXPECT_EQ(box->open(vpnbot::testing::query_value_sync(url, "SELECT private_key_enc FROM vpn_nodes")).size(), 44u);
  auto fill = run(store.pool_fill());
  ASSERT_EQ(fill.size(), 1u);
  EXPECT_EQ(fill[0].total, 253);
  EXPECT_EQ(fill[0].free, 253);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_free_addresses WHERE address IN ('10.8.0.0', '10.8.0.1', '10.8.0.255')"),
            0);
  add_users(1, 2);
  auto a = run(store.provision(1, std::nullopt, "k1", 2));
  EXPECT_EQ(a.address, "10.8.0.2");
  EXPECT_EQ(run(store.provision(1, std::nullopt, "k1", 2)).id, a.id) << "same provision key: same config";
  run(store.provision(1, std::nullopt, "k2", 2));
  EXPECT_THROW(run(store.provision(1, std::nullopt, "k3", 2)), vpn::DeviceLimitReached);
  // Disable/enable keeps address and keys: the user's config keeps working after renewal.
  EXPECT_TRUE(run(store.set_peer_state(a.id, "disabled")));
  EXPECT_TRUE(run(store.set_peer_state(a.id, "active")));
  auto again = run(store.user_peers(1));
  EXPECT_EQ(again[0].address, a.address);
  EXPECT_EQ(again[0].public_key, a.public_key);
  EXPECT_GT(again[0].revision, a.revision);
  // Regenerated keys, then removal; the address returns to the pool only after the grace period.
  auto regenerated = run(store.regenerate_keys(a.id));
  EXPECT_NE(regenerated.public_key, a.public_key);
  EXPECT_TRUE(run(store.set_peer_state(a.id, "removed")));
  EXPECT_EQ(run(store.release_removed_addresses(Millis(3600000))), 0);
  EXPECT_EQ(run(store.release_removed_addresses(Millis(0))), 1);
  EXPECT_EQ(run(store.pool_fill())[0].free, 252);
  // Moving to another location: new node, new address; the old peer is removed.
  vpn::NodeSpec second{"de-1", "DE", "Frankfurt", "203.0.113.1", 51820, "wg0", "10.9.0.0/24"};
  auto de = run(store.add_node(second));
  auto moved = run(store.move_to_node(again[1].id, de.id));
  EXPECT_EQ(moved.node_id, de.id);
  EXPECT_EQ(moved.address, "10.9.0.2");
  EXPECT_EQ(
      vpnbot::testing::query_value_sync(url, "SELECT state FROM vpn_peers WHERE id = " + std::to_string(again[1].id)),
      "removed");
  EXPECT_THROW(run(store.move_to_node(moved.id, de.id)), std::invalid_argument);
  auto config = vpn::render_client_config(run(store.client_config(moved.id)));
  EXPECT_NE(config.find("Endpoint = 203.0.113.1:51820"), std::string::npos);
  EXPECT_NE(config.find("PublicKey = " + de.public_key), std::string::npos);
}

// Sequence values become visible before the transactions that took them commit: a change whose revision was taken
// first but committed last must not fall behind an agent's cursor. The horizon waits for every such transaction.
TEST_F(VpnTest, AgentCursorNeverSkipsARevisionCommittedOutOfOrder) {
  auto pool = make_pool();
  vpn::VpnStore store(*pool, *box);
  vpn::NodeSpec spec{"nl-1", "NL", "Amsterdam", "198.51.100.7", 51820, "wg0", "10.8.0.0/24"};
  auto node = run(store.add_node(spec));
  add_users(1, 2);
  auto a = run(store.provision(1, node.id, "cursor:a", 3));
  auto b = run(store.provision(2, node.id, "cursor:b", 3));
  int64_t applied = run(store.committed_revision());
  EXPECT_EQ(run(store.changes_since(node.id, 0, applied, 100)).size(), 2u);
  // A takes its revision and stays open; B takes a larger one and commits.
  std::atomic<bool> a_updated{false}, commit_a{false};
  std::thread slow([&] {
    PGconn* c = PQconnectdb(vpnbot::testing::direct_url(url).c_str());
    PQclear(PQexec(c, "BEGIN"));
    PQclear(PQexec(c, ("UPDATE vpn_peers SET state = 'disabled', revision = vpn_next_revision() WHERE id = " +
                       std::to_string(a.id))
                          .c_str()));
    a_updated = true;
    while (!commit_a) std::this_thread::sleep_for(Millis(10));
    PQclear(PQexec(c, "COMMIT"));
    PQfinish(c);
  });
  ASSERT_TRUE(eventually([&] { return a_updated.load(); }));
  EXPECT_TRUE(run(store.set_peer_state(b.id, "disabled")));
  auto visible = run(store.changes_since(node.id, applied, std::numeric_limits<int64_t>::max(), 100));
  ASSERT_EQ(visible.size(), 1u) << "only B is visible";
  EXPECT_EQ(visible[0].id, b.id);
  // The horizon is not handed out while A can still commit below B's revision.
  std::optional<int64_t> horizon;
  asio::co_spawn(
      io, [&]() -> awaitable<void> { horizon = co_await store.committed_revision(); }, asio::detached);
  EXPECT_TRUE(eventually([&] {
    run(sleep_for(Millis(20)));
    return count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") == 1;
  })) << "the horizon waits for A";
  EXPECT_FALSE(horizon.has_value());
  commit_a = true;
  slow.join();
  EXPECT_TRUE(eventually([&] {
    run(sleep_for(Millis(20)));
    return horizon.has_value();
  }));
  auto changes = run(store.changes_since(node.id, applied, *horizon, 100));
  ASSERT_EQ(changes.size(), 2u) << "A's change, committed last with the smaller revision, is not skipped";
  EXPECT_EQ(changes[0].id, a.id);
  EXPECT_EQ(changes[1].id, b.id);
}

TEST_F(VpnTest, TwoThousandConfigsByFourWorkerProcessesNoDuplicateNoLoss) {
  auto pool = make_pool();
  vpn::VpnStore store(*pool, *box);
  vpn::NodeSpec spec{"de-1", "DE", "Frankfurt", "203.0.113.9", 51820, "wg0", "10.20.0.0/20"};
  run(store.add_node(spec));
  add_users(1, 2000);
  jobs::Queue queue(*pool);
  for (int u = 1; u <= 2000; ++u) {
    jobs::NewJob job{.kind = "vpn.provision",
                     .payload = {{"user_id", u}, {"provision_key", "t:" + std::to_string(u)}, {"device_limit", 1}},
                     .unique_key = "provision:" + std::to_string(u)};
    run(queue.enqueue(job));
  }
  std::vector<vpnbot::testing::Process> workers;
  for (int i = 0; i < 4; ++i)
    workers.push_back(vpnbot::testing::spawn_vpnbot({"serve"}, {{"VPNBOT_DATABASE_URL", url},
                                                                {"VPNBOT_ROLES", "worker"},
                                                                {"VPNBOT_HTTP_LISTEN", "127.0.0.1:0"},
                                                                {"VPNBOT_MASTER_KEY_FILE", key_file},
                                                                {"VPNBOT_JOB_POLL_INTERVAL_MS", "100"},
                                                                {"VPNBOT_INSTANCE_ID", "w" + std::to_string(i)}}));
  EXPECT_TRUE(
      eventually([&] { return count("SELECT count(*) FROM jobs WHERE state = 'done'") == 2000; }, Millis(120000)))
      << workers[0].output();
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers"), 2000) << "no lost peer";
  EXPECT_EQ(count("SELECT count(DISTINCT address) FROM vpn_peers"), 2000) << "no duplicate address";
  EXPECT_EQ(count("SELECT count(DISTINCT user_id) FROM vpn_peers"), 2000);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_free_addresses f JOIN vpn_peers p USING (node_id, address)"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_free_addresses") + 2000, 4093);
  EXPECT_EQ(count("SELECT count(DISTINCT locked_by) FROM jobs WHERE kind = 'vpn.provision' AND state = 'done'"), 0);
  for (auto& w : workers) w.signal(SIGTERM);
  for (auto& w : workers) EXPECT_EQ(w.wait(Millis(20000)), 0);
}

// ---- A real tunnel: server namespace with the agent and wireguard-go, client namespace with wireguard-go. ----

namespace {

// Runs a shell command and returns what it printed.
bool netns_available() {
  if (geteuid() != 0 || !std::filesystem::exists("/dev/net/tun")) return false;
  if (run_shell("command -v wireguard-go && command -v wg && command -v ip && command -v ping") != 0) return false;
  if (run_shell("ip netns add vpnbot-probe") != 0) return false;
  run_shell("ip netns del vpnbot-probe");
  return true;
}

struct Namespaces {
  std::string srv, cli;
  Namespaces() : srv("vb-srv-" + std::to_string(getpid())), cli("vb-cli-" + std::to_string(getpid())) {
    std::string veth = "vb" + std::to_string(getpid() % 100000);
    run_shell("ip netns add " + srv);
    run_shell("ip netns add " + cli);
    run_shell("ip link add " + veth + "s type veth peer name " + veth + "c");
    run_shell("ip link set " + veth + "s netns " + srv);
    run_shell("ip link set " + veth + "c netns " + cli);
    run_shell("ip -n " + srv + " addr add 198.18.0.1/30 dev " + veth + "s");
    run_shell("ip -n " + srv + " link set " + veth + "s up");
    run_shell("ip -n " + srv + " link set lo up");
    run_shell("ip -n " + cli + " addr add 198.18.0.2/30 dev " + veth + "c");
    run_shell("ip -n " + cli + " link set " + veth + "c up");
    run_shell("ip -n " + cli + " link set lo up");
  }
  ~Namespaces() {
    for (const auto& ns : {srv, cli}) {
      remove_network_namespace(ns);
    }
  }
  bool ping(const std::string& address) {
    return run_shell("ip netns exec " + cli + " ping -c 1 -W 1 " + address) == 0;
  }
};

}  // namespace

TEST_F(VpnTest, RealTunnelFollowsDesiredStateThroughTheAgent) {
  if (!netns_available())
    GTEST_SKIP() << "needs root, /dev/net/tun, ip netns, wireguard-go, wg and ping: skipped, not passed";
  Namespaces ns;
  std::string ifname = "vbs" + std::to_string(getpid() % 100000), cli_if = "vbc" + std::to_string(getpid() % 100000);
  auto pool = make_pool();
  vpn::VpnStore store(*pool, *box);
  vpn::NodeSpec spec{"lab-1", "NL", "Lab", "198.18.0.1", 51820, ifname, "10.77.0.0/24"};
  run(store.add_node(spec));
  add_users(1, 2);
  auto peer = run(store.provision(1, std::nullopt, "tunnel:1", 3));
  auto other = run(store.provision(2, std::nullopt, "tunnel:2", 3));
  auto data = run(store.client_config(peer.id));
  // The client uses the generated config's keys, address and endpoint (AllowedIPs narrowed to the tunnel
  // subnet so the test does not reroute the namespace's default traffic).
  std::string key_file_client = dir + "/client.key", psk_file = dir + "/client.psk";
  std::ofstream(key_file_client) << data.private_key << "\n";
  std::ofstream(psk_file) << data.preshared_key << "\n";
  ASSERT_EQ(run_shell("ip netns exec " + ns.cli + " wireguard-go " + cli_if), 0);
  ASSERT_EQ(run_shell("ip netns exec " + ns.cli + " wg set " + cli_if + " private-key " + key_file_client + " peer " +
                      data.server_public_key + " preshared-key " + psk_file + " endpoint " + data.endpoint +
                      " allowed-ips 10.77.0.0/24 persistent-keepalive 1"),
            0);
  ASSERT_EQ(run_shell("ip -n " + ns.cli + " addr add " + data.address + "/24 dev " + cli_if), 0);
  ASSERT_EQ(run_shell("ip -n " + ns.cli + " link set " + cli_if + " up"), 0);

  std::string state_dir = dir + "/agent";
  auto start_agent = [&] {
    return vpnbot::testing::spawn_process(
        "/usr/bin/ip",
        {"netns", "exec", ns.srv, VPNBOT_BINARY, "wg-agent", "--node", "lab-1", "--state-dir", state_dir, "--poll-ms",
         "200", "--full-reconcile-ms", "3000", "--stats-ms", "1000"},
        {{"VPNBOT_DATABASE_URL", url},
         {"VPNBOT_MASTER_KEY_FILE", key_file},
         {"VPNBOT_LEASE_TTL_MS", "3000"},
         {"VPNBOT_INSTANCE_ID", "agent-" + std::to_string(Clock::now().time_since_epoch().count())}});
  };
  auto agent = start_agent();
  auto wg_show = [&] {
    return shell_output("ip netns exec " + ns.srv + " wg show all; ip netns exec " + ns.cli + " wg show all; ip -n " +
                        ns.cli + " addr; ip -n " + ns.srv + " addr");
  };
  ASSERT_TRUE(eventually([&] { return ns.ping("10.77.0.1"); }, Millis(20000))) << agent.output() << wg_show();
  // A second agent for the same node is refused.
  auto intruder = start_agent();
  EXPECT_EQ(intruder.wait(Millis(15000)), 1) << intruder.output();
  EXPECT_NE(intruder.output().find("already manages node"), std::string::npos);

  // Expiry/ban: the peer is disabled -> the tunnel stops within the agent's reaction time.
  ASSERT_TRUE(run(store.set_peer_state(peer.id, "disabled")));
  EXPECT_TRUE(eventually([&] { return !ns.ping("10.77.0.1"); }, Millis(10000))) << agent.output();
  // Renewal: enabled again, the same config works. The client re-handshakes on its own once its packets go
  // unanswered (WireGuard's REKEY_TIMEOUT + KEEPALIVE, about 15 s), exactly as a phone would.
  ASSERT_TRUE(run(store.set_peer_state(peer.id, "active")));
  EXPECT_TRUE(eventually([&] { return ns.ping("10.77.0.1"); }, Millis(40000))) << agent.output() << wg_show();
  // The persisted config holds both live peers and the node key.
  std::string conf_path = state_dir + "/lab-1.conf";
  ASSERT_TRUE(eventually([&] {
    std::ifstream in(conf_path);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find(peer.public_key) != std::string::npos && text.find(other.public_key) != std::string::npos;
  })) << shell_output("ls -la " + state_dir + "; cat " + conf_path);

  // Agent killed; meanwhile a peer is removed and a stray one is added by hand: the next start converges.
  agent.signal(SIGKILL);
  agent.wait(Millis(5000));
  ASSERT_TRUE(run(store.set_peer_state(other.id, "removed")));
  auto stray = vpn::generate_keypair();
  ASSERT_EQ(run_shell("ip netns exec " + ns.srv + " wg set " + ifname + " peer " + stray.public_key +
                      " allowed-ips 10.77.0.99/32"),
            0);
  auto restarted = start_agent();
  auto peers_on_interface = [&] { return shell_output("ip netns exec " + ns.srv + " wg show " + ifname + " peers"); };
  EXPECT_TRUE(eventually(
      [&] {
        auto peers = peers_on_interface();
        return peers.find(peer.public_key) != std::string::npos && peers.find(other.public_key) == std::string::npos &&
               peers.find(stray.public_key) == std::string::npos;
      },
      Millis(20000)))
      << peers_on_interface() << restarted.output();
  EXPECT_TRUE(ns.ping("10.77.0.1"));
  // Handshakes and traffic are reported back to the database.
  EXPECT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM vpn_peers WHERE last_handshake_at IS NOT NULL AND rx_bytes > 0") >= 1; },
      Millis(15000)));
  restarted.signal(SIGTERM);
  EXPECT_EQ(restarted.wait(Millis(15000)), 0) << restarted.output();

  // A reboot with the database unreachable: the interface is gone, the agent restores it from its file.
  run_shell("ip netns pids " + ns.srv + " | xargs -r kill -9");
  ASSERT_TRUE(eventually([&] {
    return !std::filesystem::exists("/var/run/wireguard/" + ifname + ".sock") ||
           run_shell("ip -n " + ns.srv + " link show " + ifname) != 0;
  }));
  run_shell("rm -f /var/run/wireguard/" + ifname + ".sock");
  auto offline = vpnbot::testing::spawn_process(
      "/usr/bin/ip", {"netns", "exec", ns.srv, VPNBOT_BINARY, "wg-agent", "--node", "lab-1", "--state-dir", state_dir},
      {{"VPNBOT_DATABASE_URL", "postgresql://postgres@/x?host=/nonexistent&port=1"},
       {"VPNBOT_MASTER_KEY_FILE", key_file},
       {"VPNBOT_DB_CONNECT_TIMEOUT_MS", "500"}});
  EXPECT_TRUE(eventually([&] { return ns.ping("10.77.0.1"); }, Millis(45000))) << wg_show();
  offline.signal(SIGTERM);
  offline.wait(Millis(10000));
}

TEST_F(VpnTest, WgToolBackendReadsAndChangesAnInterface) {
  if (!netns_available())
    GTEST_SKIP() << "needs root, /dev/net/tun, ip netns, wireguard-go, wg and ping: skipped, not passed";
  // The kernel backend speaks through `wg`, which drives kernel WireGuard and wireguard-go alike: exercised here on
  // a wireguard-go interface (this machine has no kernel module).
  std::string ns = "vb-tool-" + std::to_string(getpid()), ifname = "vbt" + std::to_string(getpid() % 100000);
  ASSERT_EQ(run_shell("ip netns add " + ns), 0);
  ASSERT_EQ(run_shell("ip netns exec " + ns + " wireguard-go " + ifname), 0);
  agent::WgTool tool(blocking.get_executor(), ifname, dir);
  auto node = vpn::generate_keypair();
  std::vector<agent::PeerChange> peers;
  for (int i = 0; i < 3; ++i)
    peers.push_back({vpn::generate_keypair().public_key, false, vpn::generate_preshared_key(),
                     "10.66.0." + std::to_string(i + 2) + "/32"});
  run(tool.set(peers, node.private_key, 51999));
  auto state = run(tool.get());
  EXPECT_EQ(state.private_key, node.private_key);
  EXPECT_EQ(state.listen_port, 51999);
  ASSERT_EQ(state.peers.size(), 3u);
  EXPECT_EQ(state.peers.at(peers[1].public_key).preshared_key, peers[1].preshared_key);
  EXPECT_EQ(state.peers.at(peers[2].public_key).allowed_ips, std::vector<std::string>{"10.66.0.4/32"});
  std::vector<agent::PeerChange> remove_one{{peers[0].public_key, true, "", ""}};
  run(tool.set(remove_one));
  EXPECT_EQ(run(tool.get()).peers.size(), 2u);
  std::vector<agent::PeerChange> only_last{peers[2]};
  run(tool.set(only_last, "", 0, true));
  state = run(tool.get());
  ASSERT_EQ(state.peers.size(), 1u);
  EXPECT_TRUE(state.peers.count(peers[2].public_key));
  EXPECT_EQ(run_shell("ls " + dir + "/k.* 2>/dev/null | grep -q ."), 1) << "no key files left behind";
  remove_network_namespace(ns);
}
