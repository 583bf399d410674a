#pragma once
#include <map>
#include <string>

#include "agent/uapi.hpp"
#include "core/event.hpp"
#include "db/pool.hpp"
#include "jobs/lease.hpp"
#include "vpn/store.hpp"

namespace vpnbot::agent {

struct AgentOptions {
  std::string node_name;
  std::string owner;
  std::string state_dir = "/var/lib/vpnbot";
  std::string uapi_socket;  // default: /var/run/wireguard/<interface>.sock
  std::string wireguard_go = "wireguard-go";
  // The node's own sealing key (`vpnbot admin node credential`): set, the agent needs no master key.
  std::string node_key_file;
  // "userspace": wireguard-go + its UAPI socket; "kernel": the kernel module (ip link add type wireguard) driven
  // by the `wg` tool; "auto": kernel when the module is loaded, otherwise userspace.
  std::string backend = "auto";
  Millis poll_interval{2000};             // NOTIFY wakes it sooner
  Millis full_reconcile_interval{60000};  // safety net against drift
  Millis stats_interval{30000};
  Millis lease_ttl{15000};
};

// The parts of a persisted interface config (wg setconf format) the agent writes and reads back.
struct PersistedConfig {
  std::string private_key;
  int listen_port = 0;
  std::vector<PeerChange> peers;
  // What it takes to recreate the interface after a reboot without the database (kept as a comment line).
  std::string interface;
  std::string address;  // the node's own tunnel address with prefix, e.g. 10.8.0.1/24
  int mtu = 1420;
};
std::string format_persisted(const PersistedConfig& config);
PersistedConfig parse_persisted(const std::string& text);

// `vpnbot wg-agent --node NAME`: the only writer of one node's WireGuard interface. Makes the interface match the
// peers the database wants (full reconcile at start and periodically, incremental changes by revision as they
// come), persists the config atomically for reboots without the database, and reports handshakes and traffic.
class WgAgent {
 public:
  WgAgent(asio::any_io_executor ex, db::Pool& pool, std::string listen_url, const vpn::SecretBox& box,
          AgentOptions options);
  // Runs until stop(). Throws if another agent holds this node's lease or the node does not exist.
  awaitable<void> run();
  void stop();
  int64_t applied_revision() const { return applied_revision_; }

 private:
  struct Wanted {
    std::string public_key;
    std::string preshared_key;
    std::string address;
  };
  void choose_backend(const std::string& ifname);
  awaitable<bool> userspace_interface_alive(const std::string& ifname);
  awaitable<void> ensure_interface(const std::string& ifname, const std::string& address, int mtu,
                                   const std::string& private_key, int listen_port);
  awaitable<int> full_reconcile();
  awaitable<int> apply_changes();
  awaitable<void> apply(std::vector<PeerChange> changes);
  awaitable<void> persist();
  awaitable<void> report_stats();
  // Counters restart from zero for peers newly put on the interface, and for all of them with a new interface:
  // their baselines are set to zero first (vpn/traffic.hpp).
  awaitable<void> reset_baselines(std::vector<int64_t> peer_ids);
  awaitable<void> interface_counters_restart();
  awaitable<void> report_status(int drift);
  awaitable<bool> restore_from_file();
  std::string conf_path() const;
  std::string node_address() const;

  asio::any_io_executor ex_;
  db::Pool& pool_;
  std::string listen_url_;
  AgentOptions options_;
  vpn::VpnStore store_;
  std::unique_ptr<WgBackend> uapi_;
  std::string backend_;  // resolved: userspace or kernel
  std::unique_ptr<jobs::LeaderLease> lease_;
  std::optional<vpn::Node> node_;
  std::string node_private_key_;
  std::map<int64_t, Wanted> wanted_;  // peer id -> what the interface should have
  int64_t applied_revision_ = 0;
  Event wake_;
  bool stopping_ = false;
  bool lease_lost_ = false;
  bool node_baselines_stale_ = false;  // an interface was made before the node was known
};

}  // namespace vpnbot::agent
