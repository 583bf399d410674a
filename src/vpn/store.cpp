#include "vpn/store.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "core/log.hpp"
#include "vpn/remnawave/accounts.hpp"

#include <limits>

namespace vpnbot::vpn {
namespace {

constexpr const char* kNodeColumns =
    "id, name, country_code, location, endpoint_host, endpoint_port, interface, subnet_v4::text, "
    "coalesce(subnet_v6::text, ''), dns, mtu, capacity, state, public_key, host(network(subnet_v4) + 1), "
    "sealing_generation";

Node read_node(const db::Result& r, int i) {
  Node n;
  auto& spec = n.spec;
  r.read(i, n.id, spec.name, spec.country_code, spec.location, spec.endpoint_host, spec.endpoint_port, spec.interface,
         spec.subnet_v4, spec.subnet_v6, spec.dns, spec.mtu, spec.capacity, n.state, n.public_key, n.gateway_address,
         n.sealing_generation);
  return n;
}

constexpr const char* kPeerColumns = "id, user_id, node_id, host(address), public_key, state, revision";

const db::RowMap kPeerRow{kPeerColumns,   &Peer::id,         &Peer::user_id, &Peer::node_id,
                          &Peer::address, &Peer::public_key, &Peer::state,   &Peer::revision};

}  // namespace

awaitable<Node> VpnStore::add_node(NodeSpec spec) {
  // The name reaches `ip` and wireguard-go on the node as an argument: Linux's limit and a safe alphabet.
  bool valid_interface = !spec.interface.empty() && spec.interface.size() <= 15 &&
                         std::all_of(spec.interface.begin(), spec.interface.end(), [](unsigned char c) {
                           return std::isalnum(c) || c == '_' || c == '-' || c == '.';
                         });
  if (!valid_interface)
    throw std::invalid_argument("interface name '" + spec.interface + "' must be 1-15 characters of A-Z a-z 0-9 _ - .");
  auto keys = generate_keypair();
  auto id = co_await pool_.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
    db::Param v6;
    if (!spec.subnet_v6.empty()) v6 = spec.subnet_v6;
    // The id first: the private key is sealed with the node's own key (generation 1), which the id names.
    auto next = co_await tx.exec("SELECT nextval(pg_get_serial_sequence('vpn_nodes', 'id'))");
    int64_t node_id = next.get<int64_t>(0, 0);
    std::string sealed = box_.for_node(node_id, 1).seal(keys.private_key);
    co_await tx.exec(
        "INSERT INTO vpn_nodes (id, name, country_code, location, endpoint_host, endpoint_port, interface, "
        "subnet_v4, subnet_v6, dns, mtu, capacity, public_key, private_key_enc, sealing_generation) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::cidr, $9::cidr, $10, $11, $12, $13, $14, 1)",
        node_id, spec.name, spec.country_code, spec.location, spec.endpoint_host, spec.endpoint_port, spec.interface,
        spec.subnet_v4, v6, spec.dns, spec.mtu, spec.capacity, keys.public_key, sealed);
    // network + 1 is the node's own address; the broadcast address is left out too.
    co_await tx.exec(
        "INSERT INTO vpn_free_addresses (node_id, address) "
        "SELECT $1, set_masklen(network(n.subnet_v4) + g, 32) FROM vpn_nodes n, "
        "generate_series(2::bigint, (2::bigint ^ (32 - masklen(n.subnet_v4)))::bigint - 2) g WHERE n.id = $1",
        node_id);
    co_return node_id;
  });
  auto node = co_await node_by_id(id);
  log::info("vpn", "node added", {{"node", node->spec.name}, {"subnet", node->spec.subnet_v4}});
  co_return *node;
}

awaitable<std::vector<Node>> VpnStore::list_nodes() {
  auto r = co_await pool_.query(std::string("SELECT ") + kNodeColumns + " FROM vpn_nodes ORDER BY name");
  std::vector<Node> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_node(r, i));
  co_return out;
}

awaitable<std::vector<VpnStore::Location>> VpnStore::locations(db::Transaction& tx) {
  // WireGuard nodes with free addresses, then the Xray locations of the panels with room left.
  auto r = co_await tx.exec(
      "(SELECT n.id, n.country_code, n.location, 'wireguard', 'WireGuard' FROM vpn_nodes n WHERE n.state = 'enabled' "
      "AND EXISTS (SELECT 1 FROM vpn_free_addresses f WHERE f.node_id = n.id) "
      "AND (SELECT count(*) FROM vpn_peers p WHERE p.node_id = n.id AND p.state <> 'removed') < n.capacity "
      "ORDER BY n.country_code, n.location, n.id LIMIT 20) UNION ALL "
      "(SELECT n.id, n.country_code, n.location, n.backend, n.protocol FROM panel_nodes n WHERE n.state = 'enabled' "
      "AND (SELECT count(*) FROM panel_accounts a WHERE a.node_id = n.id AND a.state <> 'removed') < n.capacity "
      "ORDER BY n.country_code, n.location, n.id LIMIT 20)");
  co_return r.read_all<Location>(
      [](Location& l) { return std::tie(l.node_id, l.country_code, l.location, l.backend, l.protocol); });
}

awaitable<int64_t> VpnStore::live_config_count(db::Transaction& tx, int64_t user_id) {
  co_return co_await tx.value<int64_t>(
      "SELECT (SELECT count(*) FROM vpn_peers WHERE user_id = $1 AND state <> 'removed') + "
      "(SELECT count(*) FROM panel_accounts WHERE user_id = $1 AND state <> 'removed')",
      user_id);
}

awaitable<std::optional<Node>> VpnStore::node_by_name(std::string name) {
  auto r = co_await pool_.exec(std::string("SELECT ") + kNodeColumns + " FROM vpn_nodes WHERE name = $1", name);
  if (r.empty()) co_return std::nullopt;
  co_return read_node(r, 0);
}

awaitable<std::optional<Node>> VpnStore::node_by_id(int64_t id) {
  auto r = co_await pool_.exec(std::string("SELECT ") + kNodeColumns + " FROM vpn_nodes WHERE id = $1", id);
  if (r.empty()) co_return std::nullopt;
  co_return read_node(r, 0);
}

awaitable<std::vector<PoolFill>> VpnStore::pool_fill() {
  auto r = co_await pool_.query(
      "SELECT n.id, n.name, (2::bigint ^ (32 - masklen(n.subnet_v4)))::bigint - 3, "
      "(SELECT count(*) FROM vpn_free_addresses f WHERE f.node_id = n.id) FROM vpn_nodes n ORDER BY n.name");
  co_return r.read_all<PoolFill>(
      [](PoolFill& fill) { return std::tie(fill.node_id, fill.name, fill.total, fill.free); });
}

SecretBox VpnStore::node_box(const Node& node) const {
  return node_key_ ? *node_key_ : box_.for_node(node.id, node.sealing_generation);
}

awaitable<std::string> VpnStore::node_private_key(const Node& node) {
  auto r = co_await pool_.exec("SELECT private_key_enc FROM vpn_nodes WHERE id = $1", node.id);
  if (r.empty()) throw std::runtime_error("no node with id " + std::to_string(node.id));
  co_return node_box(node).open(r.get<std::string>(0, 0));
}

awaitable<SecretBox> VpnStore::reseal_node(db::Transaction& tx, const SecretBox& master, int64_t node_id) {
  auto node =
      co_await tx.exec("SELECT sealing_generation, private_key_enc FROM vpn_nodes WHERE id = $1 FOR UPDATE", node_id);
  if (node.empty()) throw std::invalid_argument("no node with id " + std::to_string(node_id));
  int generation = node.get<int>(0, 0);
  SecretBox old_key = master.for_node(node_id, generation), new_key = master.for_node(node_id, generation + 1);
  co_await tx.exec("UPDATE vpn_nodes SET private_key_enc = $2, sealing_generation = $3 WHERE id = $1", node_id,
                   new_key.seal(old_key.open(node.get<std::string>(0, 1))), generation + 1);
  std::vector<int64_t> ids;
  std::vector<std::string> sealed;
  int64_t after = 0;
  for (;;) {
    auto page = co_await tx.exec(
        "SELECT id, preshared_key_enc FROM vpn_peers WHERE node_id = $1 AND id > $2 ORDER BY id LIMIT 1000", node_id,
        after);
    for (int i = 0; i < page.rows(); ++i) {
      after = page.get<int64_t>(i, 0);
      ids.push_back(after);
      sealed.push_back(new_key.seal(old_key.open(page.get<std::string>(i, 1))));
    }
    if (page.rows() < 1000) break;
  }
  // The keys themselves do not change, so no revision moves: the agent's interface is already right.
  co_await tx.exec(
      "UPDATE vpn_peers p SET preshared_key_enc = n.sealed FROM unnest($1::bigint[], $2::text[]) AS n(id, sealed) "
      "WHERE p.id = n.id",
      db::to_bigint_array(ids), db::to_text_array(sealed));
  co_return new_key;
}

awaitable<Peer> VpnStore::provision(db::Transaction& tx, const SecretBox& box, int64_t user_id,
                                    std::optional<int64_t> node_id, std::optional<int64_t> subscription_id,
                                    std::string provision_key, int device_limit, bool user_picked_node) {
  auto existing = co_await tx.exec(std::string("SELECT ") + kPeerColumns + " FROM vpn_peers WHERE provision_key = $1",
                                   provision_key);
  if (!existing.empty()) co_return kPeerRow.read(existing, 0);  // a retried job: the config already exists
  // Serialises provisioning per user, so the device limit holds under concurrency.
  auto user = co_await tx.exec("SELECT id FROM users WHERE id = $1 FOR UPDATE", user_id);
  if (user.empty()) throw std::invalid_argument("no user " + std::to_string(user_id));
  // Every device counts against the plan's limit: WireGuard configs and Xray accounts alike.
  if (co_await live_config_count(tx, user_id) >= device_limit)
    throw DeviceLimitReached("user " + std::to_string(user_id) + " already has " + std::to_string(device_limit) +
                             " configs");
  // A node the user picked (a button's data: hostile) is used only while enabled and below its capacity, as the
  // location list offers it. The automatic choice (after a payment) is the enabled node with the most room relative
  // to its capacity, past the capacity too when every node is full: its address pool is the hard limit, and a paid
  // user is never left without a config because the operator's target was reached. The operator names any node.
  auto chosen = co_await tx.exec(
      "SELECT n.id FROM vpn_nodes n, LATERAL (SELECT count(*) AS live FROM vpn_peers p "
      "  WHERE p.node_id = n.id AND p.state <> 'removed') peers "
      "WHERE CASE WHEN $1::bigint IS NULL THEN n.state = 'enabled' "
      "           WHEN $2 THEN n.id = $1 AND n.state = 'enabled' AND peers.live < n.capacity "
      "           ELSE n.id = $1 END "
      "ORDER BY peers.live::float / n.capacity, n.id LIMIT 1",
      node_id, user_picked_node);
  if (chosen.empty())
    throw NoCapacity(node_id ? "node " + std::to_string(*node_id) + " is disabled or full" : "no enabled VPN node");
  node_id = chosen.get<int64_t>(0, 0);
  // The node row is held until commit: its sealing key cannot change under the new preshared key (reseal_node).
  auto generation = co_await tx.exec("SELECT sealing_generation FROM vpn_nodes WHERE id = $1 FOR SHARE", *node_id);
  SecretBox node_box = box.for_node(*node_id, generation.get<int>(0, 0));
  auto address = co_await tx.exec(
      "WITH picked AS (SELECT address FROM vpn_free_addresses WHERE node_id = $1 ORDER BY address LIMIT 1 "
      "FOR UPDATE SKIP LOCKED) "
      "DELETE FROM vpn_free_addresses f USING picked WHERE f.node_id = $1 AND f.address = picked.address "
      "RETURNING host(f.address)",
      *node_id);
  if (address.empty()) throw NoCapacity("node " + std::to_string(*node_id) + " has no free address");
  auto keys = generate_keypair();
  // The config's private key is the shop's to deliver (master key); the preshared key is also the node's.
  std::string private_sealed = box.seal(keys.private_key), psk_sealed = node_box.seal(generate_preshared_key());
  std::string addr = address.get<std::string>(0, 0);
  auto r = co_await tx.exec(std::string("INSERT INTO vpn_peers (user_id, subscription_id, node_id, address, "
                                        "public_key, private_key_enc, preshared_key_enc, provision_key) "
                                        "VALUES ($1, $2, $3, $4::inet, $5, $6, $7, $8) RETURNING ") +
                                kPeerColumns,
                            user_id, subscription_id, *node_id, addr, keys.public_key, private_sealed, psk_sealed,
                            provision_key);
  co_return kPeerRow.read(r, 0);
}

awaitable<Peer> VpnStore::provision(int64_t user_id, std::optional<int64_t> node_id, std::string provision_key,
                                    int device_limit) {
  co_return co_await pool_.transaction([&](db::Transaction& tx) -> awaitable<Peer> {
    co_return co_await provision(tx, box_, user_id, node_id, std::nullopt, provision_key, device_limit);
  });
}

awaitable<bool> VpnStore::set_peer_state(int64_t peer_id, std::string state) {
  auto r = co_await pool_.exec(
      "UPDATE vpn_peers SET state = $2, revision = vpn_next_revision(), updated_at = now(), "
      "removed_at = CASE WHEN $2 = 'removed' THEN now() END "
      "WHERE id = $1 AND state <> $2 AND state <> 'removed'",
      peer_id, state);
  co_return r.affected() == 1;
}

awaitable<int64_t> VpnStore::set_user_peers_state(db::Transaction& tx, int64_t user_id, std::string from_state,
                                                  std::string to_state) {
  auto r = co_await tx.exec(
      "UPDATE vpn_peers SET state = $3, revision = vpn_next_revision(), updated_at = now() "
      "WHERE user_id = $1 AND state = $2 AND NOT ($3 = 'active' AND EXISTS ("
      "  SELECT 1 FROM subscriptions WHERE user_id = $1 AND traffic_blocked))",
      user_id, from_state, to_state);
  // A subscription whose WireGuard quota is used up keeps those configs off until a renewal or a top-up
  // (vpn/traffic.hpp). The user's Xray accounts follow the same switch (the panel is brought there by the sync).
  auto panel = co_await remnawave::Accounts::set_user_state(tx, user_id, from_state, to_state);
  co_return r.affected() + panel;
}

awaitable<Peer> VpnStore::regenerate_keys(int64_t peer_id) {
  co_return co_await pool_.transaction([&](db::Transaction& tx) -> awaitable<Peer> {
    co_return co_await regenerate_keys(tx, box_, peer_id, std::nullopt);
  });
}

awaitable<Peer> VpnStore::regenerate_keys(db::Transaction& tx, const SecretBox& box, int64_t peer_id,
                                          std::optional<int64_t> user_id) {
  auto node = co_await tx.exec(
      "SELECT n.id, n.sealing_generation FROM vpn_peers p JOIN vpn_nodes n ON n.id = p.node_id WHERE p.id = $1 "
      "FOR SHARE OF n",
      peer_id);
  if (node.empty()) throw std::invalid_argument("no live config " + std::to_string(peer_id));
  SecretBox node_box = box.for_node(node.get<int64_t>(0, 0), node.get<int>(0, 1));
  auto keys = generate_keypair();
  std::string private_sealed = box.seal(keys.private_key), psk_sealed = node_box.seal(generate_preshared_key());
  auto r = co_await tx.exec(std::string("UPDATE vpn_peers SET public_key = $2, private_key_enc = $3, "
                                        "preshared_key_enc = $4, revision = vpn_next_revision(), "
                                        "updated_at = now() WHERE id = $1 AND state <> 'removed' "
                                        "AND ($5::bigint IS NULL OR user_id = $5) RETURNING ") +
                                kPeerColumns,
                            peer_id, keys.public_key, private_sealed, psk_sealed, user_id);
  if (r.empty()) throw std::invalid_argument("no live config " + std::to_string(peer_id));
  co_return kPeerRow.read(r, 0);
}

awaitable<Peer> VpnStore::move_to_node(int64_t peer_id, int64_t node_id) {
  co_return co_await pool_.transaction([&](db::Transaction& tx) -> awaitable<Peer> {
    auto old = co_await tx.exec(
        "UPDATE vpn_peers SET state = 'removed', removed_at = now(), revision = vpn_next_revision(), "
        "updated_at = now() WHERE id = $1 AND state <> 'removed' RETURNING user_id, subscription_id, node_id",
        peer_id);
    if (old.empty()) throw std::invalid_argument("no live config " + std::to_string(peer_id));
    if (old.get<int64_t>(0, 2) == node_id) throw std::invalid_argument("the config is already on that node");
    std::string key = "move:" + std::to_string(peer_id) + ":" + std::to_string(node_id);
    // The removed peer no longer counts, so the same device limit admits its replacement.
    co_return co_await provision(tx, box_, old.get<int64_t>(0, 0), node_id, old.get<std::optional<int64_t>>(0, 1), key,
                                 std::numeric_limits<int>::max());
  });
}

awaitable<int64_t> VpnStore::release_removed_addresses(Millis grace) {
  auto r = co_await pool_.exec(
      "WITH due AS (SELECT id FROM vpn_peers WHERE state = 'removed' AND NOT address_released "
      "AND removed_at < now() - make_interval(secs => $1::double precision / 1000) LIMIT 1000 FOR UPDATE SKIP LOCKED), "
      "released AS (UPDATE vpn_peers p SET address_released = true FROM due WHERE p.id = due.id "
      "RETURNING p.node_id, p.address) "
      "INSERT INTO vpn_free_addresses (node_id, address) SELECT node_id, set_masklen(address, 32) FROM released "
      "ON CONFLICT DO NOTHING",
      grace.count());
  co_return r.affected();
}

awaitable<std::vector<Peer>> VpnStore::user_peers(int64_t user_id) {
  auto r = co_await pool_.exec(
      std::string("SELECT ") + kPeerColumns + " FROM vpn_peers WHERE user_id = $1 AND state <> 'removed' ORDER BY id",
      user_id);
  co_return kPeerRow.read_all(r);
}

awaitable<int64_t> VpnStore::committed_revision() {
  co_return co_await pool_.transaction([](db::Transaction& tx) -> awaitable<int64_t> {
    // Read the sequence first: every transaction that took a value up to it already holds the shared lock, so the
    // exclusive one below is granted only once they all ended.
    auto last = co_await tx.exec("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM vpn_peer_revision");
    co_await tx.exec("SET LOCAL lock_timeout = '5s'");
    co_await tx.exec("SELECT pg_advisory_xact_lock(7419001)");
    co_return last.get<int64_t>(0, 0);
  });
}

awaitable<std::vector<DesiredPeer>> VpnStore::changes_since(const Node& node, int64_t revision, int64_t up_to,
                                                            int limit) {
  auto r = co_await pool_.exec(
      "SELECT id, public_key, preshared_key_enc, host(address), state, revision FROM vpn_peers "
      "WHERE node_id = $1 AND revision > $2 AND revision <= $3 ORDER BY revision LIMIT $4",
      node.id, revision, up_to, limit);
  SecretBox opener = node_box(node);
  std::vector<DesiredPeer> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    auto& peer = out.emplace_back();
    std::string sealed_preshared;
    r.read(i, peer.id, peer.public_key, sealed_preshared, peer.address, peer.state, peer.revision);
    peer.preshared_key = opener.open(sealed_preshared);
  }
  co_return out;
}

namespace {
constexpr const char* kClientConfigSql =
    "SELECT p.private_key_enc, p.preshared_key_enc, host(p.address), n.dns, n.public_key, "
    "n.endpoint_host || ':' || n.endpoint_port, n.location, n.name, n.mtu, n.id, n.sealing_generation "
    "FROM vpn_peers p JOIN vpn_nodes n ON n.id = p.node_id WHERE p.id = $1 AND ($2::bigint IS NULL OR p.user_id = $2)";

ClientConfigData read_client_config(const db::Result& r, const SecretBox& box) {
  ClientConfigData c;
  std::string sealed_private, sealed_preshared;
  int64_t node_id = 0;
  int generation = 0;
  r.read(0, sealed_private, sealed_preshared, c.address, c.dns, c.server_public_key, c.endpoint, c.location,
         c.node_name, c.mtu, node_id, generation);
  c.private_key = box.open(sealed_private);
  c.preshared_key = box.for_node(node_id, generation).open(sealed_preshared);
  return c;
}
}  // namespace

awaitable<ClientConfigData> VpnStore::client_config(int64_t peer_id) {
  auto r = co_await pool_.exec(kClientConfigSql, peer_id, nullptr);
  if (r.empty()) throw std::invalid_argument("no peer " + std::to_string(peer_id));
  co_return read_client_config(r, box_);
}

awaitable<ClientConfigData> VpnStore::client_config(db::Transaction& tx, const SecretBox& box, int64_t peer_id,
                                                    int64_t user_id) {
  auto r = co_await tx.exec(kClientConfigSql, peer_id, user_id);
  if (r.empty()) throw std::invalid_argument("no config " + std::to_string(peer_id) + " for this user");
  co_return read_client_config(r, box);
}

awaitable<std::vector<VpnStore::UserConfig>> VpnStore::user_configs(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec(
      "SELECT p.id, n.country_code, n.location, n.name, p.state, "
      "to_char(p.last_handshake_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
      "FROM vpn_peers p JOIN vpn_nodes n ON n.id = p.node_id WHERE p.user_id = $1 AND p.state <> 'removed' "
      "ORDER BY p.id LIMIT 20",
      user_id);
  co_return r.read_all<UserConfig>(
      [](UserConfig& c) { return std::tie(c.id, c.country_code, c.location, c.node_name, c.state, c.last_handshake); });
}

}  // namespace vpnbot::vpn
