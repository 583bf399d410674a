// VPN against a real PostgreSQL: pools, allocation under concurrency (4 worker processes), and a real WireGuard
// tunnel between two network namespaces driven by the real `vpnbot wg-agent`.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "agent/uapi.hpp"
#include "core/process.hpp"
#include "jobs/queue.hpp"
#include "support/build_paths.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"
#include "vpn/client_config.hpp"
#include "vpn/store.hpp"
#include "vpn/traffic.hpp"

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
  // `vpnbot admin node credential NODE --out OUT` as an operator runs it; its JSON answer.
  nlohmann::json issue_credential(const std::string& node, const std::string& out) {
    auto p = vpnbot::testing::spawn_vpnbot(
        {"admin", "--json", "node", "credential", node, "--out", out},
        {{"VPNBOT_DATABASE_URL", url}, {"VPNBOT_MASTER_KEY_FILE", key_file}, {"VPNBOT_LOG_LEVEL", "warn"}});
    EXPECT_EQ(p.wait(Millis(30000)), 0) << p.output();
    return nlohmann::json::parse(p.output());
  }
  static std::string node_url_in(const std::string& out) {
    std::string node_url;
    std::getline(std::ifstream(out + "/database.url"), node_url);
    return node_url;
  }
  std::string dir, key_file;
  std::unique_ptr<vpn::SecretBox> box;
};

// The node a user picks travels in a button's data (hostile): it is used only while enabled and below its capacity,
// and every device counts against the plan's limit, an Xray account as much as a WireGuard config.
TEST_F(VpnTest, ANamedNodeIsUsedOnlyWhileEnabledAndBelowCapacityAndXrayAccountsAreDevicesToo) {
  auto pool = make_pool();
  vpn::VpnStore store(*pool, *box);
  auto disabled = run(store.add_node({"n-1", "NL", "Amsterdam", "198.51.100.7", 51820, "wg0", "10.8.0.0/24"}));
  auto small = run(store.add_node({"n-2", "DE", "Berlin", "198.51.100.8", 51820, "wg0", "10.9.0.0/24"}));
  vpnbot::testing::exec_sync(url, "UPDATE vpn_nodes SET state = 'disabled' WHERE id = " + std::to_string(disabled.id));
  vpnbot::testing::exec_sync(url, "UPDATE vpn_nodes SET capacity = 1 WHERE id = " + std::to_string(small.id));
  add_users(1, 3);
  // As the vpn.provision job does with a node from the user's button.
  auto picked_by_user = [&](int64_t user, std::optional<int64_t> node, std::string key, int limit) {
    return run(pool->transaction([&](db::Transaction& t) -> awaitable<vpn::Peer> {
      co_return co_await vpn::VpnStore::provision(t, *box, user, node, std::nullopt, key, limit, true);
    }));
  };
  EXPECT_THROW(picked_by_user(1, disabled.id, "a", 5), vpn::NoCapacity);
  EXPECT_EQ(picked_by_user(1, small.id, "b", 5).node_id, small.id);
  EXPECT_THROW(picked_by_user(2, small.id, "c", 5), vpn::NoCapacity) << "full";
  EXPECT_THROW(picked_by_user(2, 999999, "e", 5), vpn::NoCapacity) << "no such node";
  // The automatic choice (after a payment) goes past a full node's target rather than leave a paid user without a
  // config, but never to a disabled node; the operator may name any node (moving configs off a draining one).
  EXPECT_EQ(run(store.provision(2, std::nullopt, "d", 5)).node_id, small.id);
  EXPECT_EQ(run(store.provision(3, disabled.id, "o", 5)).node_id, disabled.id) << "the operator's choice";
  vpnbot::testing::exec_sync(url, "UPDATE vpn_nodes SET state = 'enabled' WHERE id = " + std::to_string(disabled.id));
  EXPECT_EQ(run(store.provision(2, std::nullopt, "f", 5)).node_id, disabled.id) << "the one with room first";
  vpnbot::testing::exec_sync(url, "UPDATE vpn_nodes SET state = 'disabled'");
  EXPECT_THROW(run(store.provision(2, std::nullopt, "g", 5)), vpn::NoCapacity) << "no enabled node";
  vpnbot::testing::exec_sync(url, "UPDATE vpn_nodes SET state = 'enabled'");
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers"), 4);
  // User 3 has a WireGuard config and an Xray account: with a limit of two devices there is no room for another.
  vpnbot::testing::exec_sync(url,
                             "INSERT INTO panel_nodes (name, country_code, location, panel_url, token_enc, capacity) "
                             "VALUES ('x-1', 'FI', 'Helsinki', 'http://127.0.0.1:1', 'sealed', 10); "
                             "INSERT INTO panel_accounts (user_id, node_id, username) "
                             "SELECT 3, id, 'user_3_x' FROM panel_nodes");
  EXPECT_THROW(run(store.provision(3, std::nullopt, "h", 2)), vpn::DeviceLimitReached);
  EXPECT_EQ(run(store.provision(3, std::nullopt, "i", 3)).user_id, 3);
}

// Issue 34 (6): a node's agent holds its own database role and key, never the shop's. With one node's credential
// (issued by the real CLI), the other node's peers, the users, balances and orders cannot be read, nothing but its
// readings, status and lease can be written, and its key opens its own secrets only. Rotating it re-seals them.
TEST_F(VpnTest, ANodesCredentialReachesOnlyItsOwnPeersAndReadings) {
  auto pool = make_pool();
  vpn::VpnStore store(*pool, *box);
  auto own = run(store.add_node({"iso-a", "NL", "Amsterdam", "198.51.100.7", 51820, "wg0", "10.8.0.0/24"}));
  auto other = run(store.add_node({"iso-b", "DE", "Berlin", "198.51.100.8", 51820, "wg0", "10.9.0.0/24"}));
  add_users(1, 2);
  vpnbot::testing::exec_sync(url,
                             "INSERT INTO subscriptions (user_id, expires_at, device_limit) VALUES "
                             "(1, now() + interval '30 days', 3), (2, now() + interval '30 days', 3); "
                             "INSERT INTO accounts (user_id, balance) VALUES (2, 5000)");
  auto mine = run(store.provision(1, own.id, "iso:1", 3));
  auto theirs = run(store.provision(2, other.id, "iso:2", 3));
  std::string psk_before = run(store.client_config(mine.id)).preshared_key;
  // The other node as a database from before node keys has it: sealed with the master key itself (generation 0).
  auto reseal_with_master = [&](const std::string& table, const std::string& column, int64_t id) {
    std::string where = " WHERE id = " + std::to_string(id);
    std::string plain =
        box->for_node(other.id, 1)
            .open(vpnbot::testing::query_value_sync(url, "SELECT " + column + " FROM " + table + where));
    vpnbot::testing::exec_sync(url, "UPDATE " + table + " SET " + column + " = '" + box->seal(plain) + "'" + where);
  };
  reseal_with_master("vpn_nodes", "private_key_enc", other.id);
  reseal_with_master("vpn_peers", "preshared_key_enc", theirs.id);
  vpnbot::testing::exec_sync(url, "UPDATE vpn_nodes SET sealing_generation = 0 WHERE id = " + std::to_string(other.id));
  std::string their_psk = run(store.client_config(theirs.id)).preshared_key;

  auto issued = issue_credential("iso-a", dir + "/node-a");
  EXPECT_EQ(issued["generation"], 2) << "a new node starts at 1; the credential moves it on";
  EXPECT_EQ(std::filesystem::status(dir + "/node-a/node.key").permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  std::string node_url = node_url_in(dir + "/node-a");
  auto node_key = vpn::SecretBox(vpn::read_key_file(dir + "/node-a/node.key", "node key", false));

  auto as_node = [&](const std::string& sql) { return vpnbot::testing::query_value_sync(node_url, sql); };
  auto refused = [&](const std::string& sql) {
    try {
      as_node(sql);
    } catch (const std::runtime_error& e) {
      return std::string(e.what()).find("permission denied") != std::string::npos ||
             std::string(e.what()).find("row-level security") != std::string::npos ||
             std::string(e.what()).find("its own readings") != std::string::npos;
    }
    return false;
  };
  // Reads: its own node and peers only; nothing of users, money or the other node.
  EXPECT_EQ(as_node("SELECT string_agg(name, ',') FROM vpn_nodes"), "iso-a");
  EXPECT_EQ(as_node("SELECT string_agg(id::text, ',') FROM vpn_peers"), std::to_string(mine.id));
  EXPECT_EQ(as_node("SELECT count(*) FROM vpn_peers WHERE node_id = " + std::to_string(other.id)), "0");
  for (const char* table : {"users", "accounts", "ledger", "orders", "subscriptions", "bot_state", "panel_nodes",
                            "jobs", "outbox", "vpn_free_addresses"})
    EXPECT_TRUE(refused(std::string("SELECT count(*) FROM ") + table)) << table;
  EXPECT_TRUE(refused("SELECT private_key_enc FROM vpn_peers")) << "the configs' own private keys are not its";
  // Writes: its counters' baselines, its status and its lease; nothing else, and nothing of the other node.
  EXPECT_TRUE(refused("UPDATE vpn_peers SET state = 'removed'"));
  EXPECT_TRUE(refused("UPDATE vpn_nodes SET capacity = 1"));
  EXPECT_TRUE(
      refused("INSERT INTO ledger (user_id, account, amount, source, reference) "
              "VALUES (1, 'balance', 100, 'admin', 'x')"));
  EXPECT_TRUE(refused("UPDATE accounts SET balance = 0"));
  EXPECT_TRUE(refused("SELECT vpn_traffic_block(2)"));
  EXPECT_TRUE(refused("SELECT nextval('vpn_peer_revision')"));
  EXPECT_EQ(as_node("WITH u AS (UPDATE vpn_peers SET rx_bytes = 0 WHERE node_id = " + std::to_string(other.id) +
                    " RETURNING 1) SELECT count(*) FROM u"),
            "0");
  EXPECT_TRUE(refused("INSERT INTO vpn_agent_status (node_id) VALUES (" + std::to_string(other.id) + ")"));
  EXPECT_TRUE(refused("INSERT INTO leases (key, owner, expires_at) VALUES ('wg-agent:iso-b', 'x', now())"));
  EXPECT_TRUE(refused("INSERT INTO leases (key, owner, expires_at) VALUES ('scheduler', 'x', now())"));
  as_node("INSERT INTO leases (key, owner, expires_at) VALUES ('wg-agent:iso-a', 'x', now())");
  as_node("INSERT INTO vpn_agent_status (node_id) VALUES (" + std::to_string(own.id) + ")");
  // Readings: recorded for its own peers (usage reaches the subscription), refused for the other node's.
  auto theirs_key = vpnbot::testing::query_value_sync(
      url, "SELECT public_key FROM vpn_peers WHERE id = " + std::to_string(theirs.id));
  EXPECT_TRUE(refused("SELECT count(*) FROM vpn_record_readings(" + std::to_string(other.id) + ", ARRAY['" +
                      theirs_key + "'], ARRAY[0::bigint], ARRAY[9000::bigint], ARRAY[9000::bigint])"));
  as_node("SELECT count(*) FROM vpn_record_readings(" + std::to_string(own.id) + ", ARRAY['" + mine.public_key +
          "'], ARRAY[0::bigint], ARRAY[1000::bigint], ARRAY[500::bigint])");
  EXPECT_EQ(count("SELECT traffic_used_bytes FROM subscriptions WHERE user_id = 1"), 1500);
  EXPECT_EQ(count("SELECT traffic_used_bytes FROM subscriptions WHERE user_id = 2"), 0);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 2"), 5000);
  // Its key opens its own secrets, not the other node's, and is not the master key.
  std::string own_psk = as_node("SELECT preshared_key_enc FROM vpn_peers");
  EXPECT_EQ(node_key.open(own_psk), psk_before);
  EXPECT_NO_THROW(node_key.open(as_node("SELECT private_key_enc FROM vpn_nodes")));
  EXPECT_THROW(node_key.open(vpnbot::testing::query_value_sync(
                   url, "SELECT preshared_key_enc FROM vpn_peers WHERE id = " + std::to_string(theirs.id))),
               std::runtime_error);
  EXPECT_THROW(box->open(own_psk), std::runtime_error);
  // Rotation: a new generation re-seals the node's secrets; the old key opens nothing, the shop still delivers the
  // same config, and the other node is untouched.
  auto rotated = issue_credential("iso-a", dir + "/node-a-rotated");
  EXPECT_EQ(rotated["generation"], 3);
  EXPECT_EQ(rotated["role"], issued["role"]);
  EXPECT_THROW(node_key.open(vpnbot::testing::query_value_sync(
                   url, "SELECT preshared_key_enc FROM vpn_peers WHERE id = " + std::to_string(mine.id))),
               std::runtime_error);
  EXPECT_EQ(run(store.client_config(mine.id)).preshared_key, psk_before);
  EXPECT_EQ(count("SELECT sealing_generation FROM vpn_nodes WHERE id = " + std::to_string(other.id)), 0);
  // The node from before moves to a key of its own with its first credential; its config is still the same.
  EXPECT_EQ(issue_credential("iso-b", dir + "/node-b")["generation"], 1);
  auto other_key = vpn::SecretBox(vpn::read_key_file(dir + "/node-b/node.key", "node key", false));
  EXPECT_EQ(other_key.open(vpnbot::testing::query_value_sync(
                url, "SELECT preshared_key_enc FROM vpn_peers WHERE id = " + std::to_string(theirs.id))),
            their_psk);
  EXPECT_EQ(run(store.client_config(theirs.id)).preshared_key, their_psk);
  EXPECT_EQ(count("SELECT count(*) FROM admin_audit WHERE action = 'node_credential'"), 3);
}

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
  std::string sealed_node_key = vpnbot::testing::query_value_sync(url, "SELECT private_key_enc FROM vpn_nodes");
  EXPECT_EQ(box->for_node(node.id, 1).open(sealed_node_key).size(), 44u) << "sealed with the node's own key";
  EXPECT_THROW(box->open(sealed_node_key), std::runtime_error) << "not with the master key itself";
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
  EXPECT_EQ(run(store.changes_since(node, 0, applied, 100)).size(), 2u);
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
  auto visible = run(store.changes_since(node, applied, std::numeric_limits<int64_t>::max(), 100));
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
  auto changes = run(store.changes_since(node, applied, *horizon, 100));
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

// ---- Traffic accounting and quotas (vpn/traffic.hpp) on the readings an agent takes. ----

namespace {

awaitable<std::vector<int64_t>> record_reading(db::Pool& pool, int64_t node_id, std::vector<vpn::PeerCounters> r) {
  co_return co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::vector<int64_t>> {
    co_return co_await vpn::Traffic::record(tx, node_id, r);
  });
}

}  // namespace

TEST_F(VpnTest, TrafficIsCountedOnceAcrossRereadsAndCounterResetsAndTheQuotaSwitchesConfigsOffOnce) {
  auto pool = make_pool();
  vpn::VpnStore store(*pool, *box);
  auto node = run(store.add_node({"t-1", "NL", "Lab", "198.18.0.1", 51820, "wgt", "10.70.0.0/24"}));
  add_users(1, 2);
  vpnbot::testing::exec_sync(url,
                             "INSERT INTO subscriptions (user_id, expires_at, device_limit, plan_id) VALUES "
                             "(1, now() + interval '30 days', 3, (SELECT id FROM plans WHERE code = 'month')), "
                             "(2, now() + interval '30 days', 3, NULL)");
  auto a = run(store.provision(1, std::nullopt, "t:a", 3));
  auto b = run(store.provision(1, std::nullopt, "t:b", 3));
  auto c = run(store.provision(2, std::nullopt, "t:c", 3));
  auto used = [&](const std::string& where) {
    return count("SELECT COALESCE(sum(traffic_used_bytes), -1) FROM subscriptions WHERE " + where);
  };
  auto peer_used = [&](int64_t id) {
    return count("SELECT used_bytes FROM vpn_peers WHERE id = " + std::to_string(id));
  };
  auto reading = [&](std::vector<vpn::PeerCounters> r) { return run(record_reading(*pool, node.id, std::move(r))); };

  reading({{a.public_key, 1, 100, 50}, {b.public_key, 1, 10, 10}, {c.public_key, 1, 1000, 1000}});
  EXPECT_EQ(peer_used(a.id), 150);
  EXPECT_EQ(used("user_id = 1"), 170);
  EXPECT_EQ(used("user_id = 2"), 2000);
  // A restarted agent reads the same counters again: nothing more is counted.
  reading({{a.public_key, 1, 100, 50}, {b.public_key, 1, 10, 10}, {c.public_key, 1, 1000, 1000}});
  EXPECT_EQ(used("user_id = 1"), 170);
  reading({{a.public_key, 2, 300, 80}});
  EXPECT_EQ(peer_used(a.id), 380);
  // wireguard-go restarted behind the agent's back: a counter below its baseline is all new.
  reading({{a.public_key, 3, 20, 10}});
  EXPECT_EQ(peer_used(a.id), 410);
  // The agent knows the counters restart (a new interface, a peer put back): baselines go to zero first.
  run(pool->transaction(
      [&](db::Transaction& tx) -> awaitable<void> { co_await vpn::Traffic::reset_node_baselines(tx, node.id); }));
  reading({{a.public_key, 4, 5, 5}});
  EXPECT_EQ(peer_used(a.id), 420);
  EXPECT_EQ(used("user_id = 1"), 440);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.traffic_used_up'"), 0);

  // A quota of 1000 bytes for user 1 (unlimited user 2 keeps going): crossing it switches both of user 1's configs
  // off and asks for one notice.
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET traffic_limit_bytes = 1000 WHERE user_id = 1");
  auto off = reading({{a.public_key, 5, 500, 5}, {c.public_key, 5, 100000, 1000}});
  EXPECT_TRUE(off.empty());
  EXPECT_EQ(used("user_id = 1"), 935);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 1 AND state = 'active'"), 2) << "not over yet";
  off = reading({{a.public_key, 6, 800, 5}});
  EXPECT_EQ(off, std::vector<int64_t>{1});
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 1 AND state = 'disabled'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 2 AND state = 'active'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id = 1 AND traffic_blocked"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.traffic_used_up' AND payload->>'user_id' = '1'"), 1);
  // Whatever switches configs on for other reasons (an admin's days, an unban) leaves a used-up quota alone.
  auto switched = run(pool->transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
    co_return co_await vpn::VpnStore::set_user_peers_state(tx, 1, "disabled", "active");
  }));
  EXPECT_EQ(switched, 0);
  // A config switched on by hand and used again goes off again; the notice is still the one of this period.
  vpnbot::testing::exec_sync(url, "UPDATE vpn_peers SET state = 'active' WHERE id = " + std::to_string(b.id));
  reading({{b.public_key, 7, 60, 10}});
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 1 AND state = 'active'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.traffic_used_up'"), 1);

  // A top-up that covers the usage switches the configs back on; refunded, they go off again.
  bool back_on = run(pool->transaction(
      [&](db::Transaction& tx) -> awaitable<bool> { co_return co_await vpn::Traffic::add_extra(tx, 1, 1000); }));
  EXPECT_TRUE(back_on);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 1 AND state = 'active'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id = 1 AND traffic_blocked"), 0);
  run(pool->transaction(
      [&](db::Transaction& tx) -> awaitable<void> { co_await vpn::Traffic::take_back_extra(tx, 1, 1000); }));
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 1 AND state = 'active'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id = 1 AND traffic_blocked"), 1);

  // A renewal starts a new period: the plan's allowance, usage from zero, configs on, and a notice of its own.
  vpnbot::testing::exec_sync(url, "UPDATE plans SET traffic_gb = 1 WHERE code = 'month'");
  run(pool->transaction([&](db::Transaction& tx) -> awaitable<void> {
    auto plan = co_await tx.exec("SELECT id FROM plans WHERE code = 'month'");
    co_await vpn::Traffic::start_period(tx, 1, plan.get<int64_t>(0, 0));
    co_await vpn::VpnStore::set_user_peers_state(tx, 1, "disabled", "active");
  }));
  EXPECT_EQ(used("user_id = 1"), 0);
  EXPECT_EQ(count("SELECT traffic_limit_bytes FROM subscriptions WHERE user_id = 1"), vpn::kBytesPerGb);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 1 AND state = 'active'"), 2);
  EXPECT_EQ(peer_used(a.id), 420 + 495 + 300) << "a config's lifetime usage is kept";
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET traffic_limit_bytes = 100 WHERE user_id = 1");
  reading({{a.public_key, 8, 1000, 5}});
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.traffic_used_up'"), 2);
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
  // The client side of a generated config, as a phone would have it (AllowedIPs narrowed to the tunnel subnet so
  // the test does not reroute the namespace's default traffic). Returns whether every step worked.
  bool connect_client(const vpn::ClientConfigData& data, const std::string& dir, const std::string& ifname,
                      const std::string& subnet, bool keepalive) {
    std::string key_file = dir + "/client.key", psk_file = dir + "/client.psk";
    std::ofstream(key_file) << data.private_key << "\n";
    std::ofstream(psk_file) << data.preshared_key << "\n";
    return run_shell("ip netns exec " + cli + " wireguard-go " + ifname) == 0 &&
           run_shell("ip netns exec " + cli + " wg set " + ifname + " private-key " + key_file + " peer " +
                     data.server_public_key + " preshared-key " + psk_file + " endpoint " + data.endpoint +
                     " allowed-ips " + subnet + (keepalive ? " persistent-keepalive 1" : "")) == 0 &&
           run_shell("ip -n " + cli + " addr add " + data.address + "/24 dev " + ifname) == 0 &&
           run_shell("ip -n " + cli + " link set " + ifname + " up") == 0;
  }
  // The agent as the tests run it: in the server namespace, with short intervals.
  vpnbot::testing::Process start_agent(const std::string& url, const std::string& key_file, const std::string& node,
                                       const std::string& state_dir) {
    return spawn_agent(node, state_dir, {{"VPNBOT_DATABASE_URL", url}, {"VPNBOT_MASTER_KEY_FILE", key_file}}, {});
  }
  // The agent as production isolates a node: its own database role and key (`admin node credential`), no master key
  // and no shop password (the URL in its environment is a decoy it must not use).
  vpnbot::testing::Process start_isolated_agent(const std::string& credential_dir, const std::string& node,
                                                const std::string& state_dir) {
    return spawn_agent(node, state_dir, {{"VPNBOT_DATABASE_URL", "postgresql://nobody@/x?host=/nonexistent"}},
                       {"--credential-dir", credential_dir});
  }
  vpnbot::testing::Process spawn_agent(const std::string& node, const std::string& state_dir,
                                       std::map<std::string, std::string> env, std::vector<std::string> extra_args) {
    std::vector<std::string> args{
        "netns",   "exec",      srv,   vpnbot::testing::kVpnbotBinary, "wg-agent", "--node",     node,  "--state-dir",
        state_dir, "--poll-ms", "200", "--full-reconcile-ms",          "3000",     "--stats-ms", "1000"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    // Short, so an agent restarted after SIGKILL takes over soon; not shorter: with the other suites beside it on
    // two cores, a renewal once took longer than 3 s and the agent rightly stopped.
    env["VPNBOT_LEASE_TTL_MS"] = "5000";
    env["VPNBOT_INSTANCE_ID"] = "agent-" + std::to_string(Clock::now().time_since_epoch().count());
    return vpnbot::testing::spawn_process("/usr/bin/ip", args, env);
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
  ASSERT_TRUE(ns.connect_client(data, dir, cli_if, "10.77.0.0/24", true));

  std::string state_dir = dir + "/agent";
  auto start_agent = [&] { return ns.start_agent(url, key_file, "lab-1", state_dir); };
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
  auto offline =
      vpnbot::testing::spawn_process("/usr/bin/ip",
                                     {"netns", "exec", ns.srv, vpnbot::testing::kVpnbotBinary, "wg-agent", "--node",
                                      "lab-1", "--state-dir", state_dir},
                                     {{"VPNBOT_DATABASE_URL", "postgresql://postgres@/x?host=/nonexistent&port=1"},
                                      {"VPNBOT_MASTER_KEY_FILE", key_file},
                                      {"VPNBOT_DB_CONNECT_TIMEOUT_MS", "500"}});
  EXPECT_TRUE(eventually([&] { return ns.ping("10.77.0.1"); }, Millis(45000))) << wg_show();
  offline.signal(SIGTERM);
  offline.wait(Millis(10000));
}

TEST_F(VpnTest, RealTunnelTrafficIsCountedAcrossAgentAndWireguardRestartsAndTheQuotaStopsIt) {
  if (!netns_available())
    GTEST_SKIP() << "needs root, /dev/net/tun, ip netns, wireguard-go, wg and ping: skipped, not passed";
  Namespaces ns;
  std::string ifname = "vqs" + std::to_string(getpid() % 100000), cli_if = "vqc" + std::to_string(getpid() % 100000);
  auto pool = make_pool();
  vpn::VpnStore store(*pool, *box);
  run(store.add_node({"lab-q", "NL", "Lab", "198.18.0.1", 51821, ifname, "10.78.0.0/24"}));
  add_users(1, 1);
  vpnbot::testing::exec_sync(url,
                             "INSERT INTO subscriptions (user_id, expires_at, device_limit) "
                             "VALUES (1, now() + interval '30 days', 3)");
  auto peer = run(store.provision(1, std::nullopt, "quota:1", 3));
  auto data = run(store.client_config(peer.id));
  // No keepalive: once the pings stop, the interface's counters stand still and can be compared exactly.
  ASSERT_TRUE(ns.connect_client(data, dir, cli_if, "10.78.0.0/24", false));
  std::string state_dir = dir + "/agent";
  // This node's agent runs as production isolates it: its own database role and key, no master key (issue 34).
  issue_credential("lab-q", dir + "/lab-q");
  auto agent = ns.start_isolated_agent(dir + "/lab-q", "lab-q", state_dir);
  auto wg_show = [&] {
    return shell_output("ip netns exec " + ns.srv + " wg show all; ip netns exec " + ns.cli + " wg show all");
  };
  ASSERT_TRUE(eventually([&] { return ns.ping("10.78.0.1"); }, Millis(20000))) << agent.output() << wg_show();
  // What the server's interface itself counts for the peer (received + sent), as `wg show transfer` prints it.
  auto interface_total = [&]() -> int64_t {
    std::stringstream out(shell_output("ip netns exec " + ns.srv + " wg show " + ifname + " transfer"));
    std::string key;
    int64_t rx = 0, tx = 0;
    while (out >> key >> rx >> tx)
      if (key == peer.public_key) return rx + tx;
    return -1;
  };
  auto recorded = [&] { return count("SELECT used_bytes FROM vpn_peers WHERE id = " + std::to_string(peer.id)); };
  auto subscription_used = [&] { return count("SELECT traffic_used_bytes FROM subscriptions WHERE user_id = 1"); };
  auto flood = [&](int packets) {
    return run_shell("ip netns exec " + ns.cli + " ping -q -c " + std::to_string(packets) +
                     " -s 1200 -i 0.002 -W 1 10.78.0.1") == 0;
  };
  // The database catches up with the interface and then holds exactly its count (plus what earlier interfaces
  // of this node counted).
  auto settles_at = [&](int64_t before) {
    int64_t want = -2;
    bool ok = eventually([&] { return recorded() == (want = before + interface_total()); }, Millis(15000));
    EXPECT_TRUE(ok) << "recorded " << recorded() << ", the interface counts " << want << "\n" << agent.output();
    EXPECT_EQ(subscription_used(), recorded());
    return want;
  };

  ASSERT_TRUE(flood(200));
  int64_t first = settles_at(0);
  EXPECT_GT(first, 200 * 1200 * 2) << "both directions of every ping";
  // The agent killed mid-work and started again: the interface kept counting, nothing is counted twice.
  agent.signal(SIGKILL);
  agent.wait(Millis(5000));
  ASSERT_TRUE(flood(100));
  agent = ns.start_isolated_agent(dir + "/lab-q", "lab-q", state_dir);
  int64_t second = settles_at(0);
  EXPECT_GT(second, first + 100 * 1200 * 2);

  // wireguard-go killed with the agent (a crash of the node): the interface comes back with counters from zero.
  run_shell("ip netns pids " + ns.srv + " | xargs -r kill -9");
  agent.wait(Millis(5000));
  ASSERT_TRUE(eventually([&] { return run_shell("ip -n " + ns.srv + " link show " + ifname) != 0; }));
  agent = ns.start_isolated_agent(dir + "/lab-q", "lab-q", state_dir);
  ASSERT_TRUE(eventually([&] { return ns.ping("10.78.0.1"); }, Millis(40000))) << agent.output() << wg_show();
  ASSERT_TRUE(flood(100));
  int64_t third = settles_at(second);
  EXPECT_GT(third, second + 100 * 1200 * 2);
  EXPECT_LT(interface_total(), third - second + 1) << "the new interface counted from zero";

  // A quota 300 KB above the usage: a flood of ~500 KB crosses it, the config goes off and the tunnel stops.
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET traffic_limit_bytes = traffic_used_bytes + 300000");
  flood(200);
  ASSERT_TRUE(
      eventually([&] { return count("SELECT count(*) FROM vpn_peers WHERE state = 'disabled'") == 1; }, Millis(15000)))
      << agent.output();
  EXPECT_TRUE(eventually([&] { return !ns.ping("10.78.0.1"); }, Millis(10000))) << agent.output();
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'vpn.traffic_used_up'"), 1);
  // The removal took a last reading first: what the peer carried is all recorded.
  EXPECT_GE(subscription_used(), count("SELECT traffic_limit_bytes FROM subscriptions"));
  // A top-up brings it back; the client re-handshakes on its own. (Read while the peer is off the interface.)
  int64_t before_readd = recorded();
  bool back_on = run(pool->transaction([&](db::Transaction& tx) -> awaitable<bool> {
    co_return co_await vpn::Traffic::add_extra(tx, 1, vpn::kBytesPerGb);
  }));
  EXPECT_TRUE(back_on);
  EXPECT_TRUE(eventually([&] { return ns.ping("10.78.0.1"); }, Millis(40000))) << agent.output() << wg_show();
  ASSERT_TRUE(flood(50));
  // The peer was put back with counters from zero: counted from its reset baseline, not from the old one.
  EXPECT_TRUE(eventually([&] { return recorded() == before_readd + interface_total(); }, Millis(15000)))
      << recorded() << " vs " << before_readd << " + " << interface_total();
  agent.signal(SIGTERM);
  EXPECT_EQ(agent.wait(Millis(15000)), 0) << agent.output();
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
