#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"
#include "vpn/keys.hpp"

namespace vpnbot::vpn {

struct NodeSpec {
  std::string name;
  std::string country_code;
  std::string location;
  std::string endpoint_host;
  int endpoint_port = 51820;
  std::string interface = "wg0";
  std::string subnet_v4 = "10.8.0.0/24";
  std::string subnet_v6;  // optional
  std::string dns = "1.1.1.1";
  int mtu = 1420;
  int capacity = 250;
};

struct Node {
  int64_t id = 0;
  NodeSpec spec;
  std::string state;
  std::string public_key;
  std::string gateway_address;  // the server's own tunnel address (first host)
  int sealing_generation = 0;   // of the key its secrets are sealed with (SecretBox::for_node)
};

struct PoolFill {
  int64_t node_id = 0;
  std::string name;
  int64_t total = 0;
  int64_t free = 0;
  double fill() const { return total ? 1.0 - static_cast<double>(free) / static_cast<double>(total) : 1.0; }
};

struct Peer {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t node_id = 0;
  std::string address;  // a.b.c.d (no mask)
  std::string public_key;
  std::string state;
  int64_t revision = 0;
};

// What an agent needs to configure one peer.
struct DesiredPeer {
  int64_t id = 0;
  std::string public_key;
  std::string preshared_key;  // decrypted
  std::string address;
  std::string state;
  int64_t revision = 0;
};

struct ClientConfigData {
  std::string private_key, preshared_key, address, dns, server_public_key, endpoint, location, node_name;
  int mtu = 1420;
};

class DeviceLimitReached : public std::runtime_error {
  using std::runtime_error::runtime_error;
};
class NoCapacity : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The VPN domain's tables: nodes, their free-address pools and the peers (desired state).
class VpnStore {
 public:
  // `box` is the master key; an agent that holds only its node's key passes it as `node_key` (and any `box`).
  VpnStore(db::Pool& pool, const SecretBox& box, std::optional<SecretBox> node_key = std::nullopt)
      : pool_(pool), box_(box), node_key_(std::move(node_key)) {}

  // Creates the node with its keypair and fills its pool (every host address except network, gateway, broadcast).
  awaitable<Node> add_node(NodeSpec spec);
  awaitable<std::vector<Node>> list_nodes();
  awaitable<std::optional<Node>> node_by_name(std::string name);
  awaitable<std::optional<Node>> node_by_id(int64_t id);
  awaitable<std::vector<PoolFill>> pool_fill();
  awaitable<std::string> node_private_key(const Node& node);
  // What opens a node's sealed secrets: its own key when this store was given one, else derived from the master.
  SecretBox node_box(const Node& node) const;
  // Seals the node's private key and its peers' preshared keys with the key of its next generation, in one
  // transaction (provisioning waits on the node row); returns that key. The agent needs it from then on.
  static awaitable<SecretBox> reseal_node(db::Transaction& tx, const SecretBox& master, int64_t node_id);

  // Creates a config for the user on `node_id` (or the least-filled enabled node), idempotent by provision_key.
  // The user's live configs (WireGuard and Xray) may not exceed device_limit. A node the user picked
  // (`user_picked_node`: it came in a button's data) must be enabled and below its capacity, else NoCapacity; the
  // operator may name any node. Address claimed with SKIP LOCKED: O(log n) at any fill.
  static awaitable<Peer> provision(db::Transaction& tx, const SecretBox& box, int64_t user_id,
                                   std::optional<int64_t> node_id, std::optional<int64_t> subscription_id,
                                   std::string provision_key, int device_limit, bool user_picked_node = false);
  awaitable<Peer> provision(int64_t user_id, std::optional<int64_t> node_id, std::string provision_key,
                            int device_limit);
  // active <-> disabled keep address and keys (the user's config keeps working after renewal); removed frees the
  // address after the grace period.
  awaitable<bool> set_peer_state(int64_t peer_id, std::string state);
  static awaitable<int64_t> set_user_peers_state(db::Transaction& tx, int64_t user_id, std::string from_state,
                                                 std::string to_state);
  awaitable<Peer> regenerate_keys(int64_t peer_id);
  // New keys for a config (the old .conf stops working); user_id, when given, must own it.
  static awaitable<Peer> regenerate_keys(db::Transaction& tx, const SecretBox& box, int64_t peer_id,
                                         std::optional<int64_t> user_id);
  // Moves a config to another location: a new peer (address, keys) on the target node, the old one removed, in
  // one transaction. The user must import the new config; the old one stops working.
  awaitable<Peer> move_to_node(int64_t peer_id, int64_t node_id);
  awaitable<int64_t> release_removed_addresses(Millis grace);
  awaitable<std::vector<Peer>> user_peers(int64_t user_id);

  // What "My configs" shows: the user's live configs with their location and last handshake.
  struct UserConfig {
    int64_t id = 0;
    std::string country_code, location, node_name, state;
    std::optional<std::string> last_handshake;  // UTC "YYYY-MM-DD HH:MM"
  };
  // Locations a new config may be created in: enabled nodes with room left, WireGuard then Xray (Remnawave).
  struct Location {
    int64_t node_id = 0;  // of vpn_nodes (wireguard) or panel_nodes (remnawave)
    std::string country_code, location;
    std::string backend = "wireguard", protocol = "WireGuard";
  };
  static awaitable<std::vector<Location>> locations(db::Transaction& tx);
  static awaitable<int64_t> live_config_count(db::Transaction& tx, int64_t user_id);
  static awaitable<std::vector<UserConfig>> user_configs(db::Transaction& tx, int64_t user_id);
  static awaitable<ClientConfigData> client_config(db::Transaction& tx, const SecretBox& box, int64_t peer_id,
                                                   int64_t user_id);

  // Agent side: peers of a node changed after `revision`, oldest first (keyset pagination).
  awaitable<std::vector<DesiredPeer>> changes_since(const Node& node, int64_t revision, int64_t up_to, int limit);
  // The revision below which every change is committed: no transaction still running can commit a revision at
  // or below it (it waits for them; see vpn_next_revision). The safe limit for an agent's cursor.
  awaitable<int64_t> committed_revision();
  // Everything the client needs for its .conf.
  awaitable<ClientConfigData> client_config(int64_t peer_id);

 private:
  db::Pool& pool_;
  const SecretBox& box_;
  std::optional<SecretBox> node_key_;
};

}  // namespace vpnbot::vpn
