#include "agent/wg_agent.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include "agent/persist.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "db/listener.hpp"
#include "vpn/traffic.hpp"

namespace vpnbot::agent {
namespace {

constexpr int kBatch = 500;

awaitable<void> write_off_loop(std::string path, std::string contents) {
  write_file_atomically(path, contents);
  co_return;
}

bool same_allowed_ips(const InterfacePeer& actual, const std::string& address) {
  return actual.allowed_ips.size() == 1 && actual.allowed_ips[0] == address + "/32";
}

}  // namespace

std::string format_persisted(const PersistedConfig& c) {
  std::string out = "# vpnbot interface=" + c.interface + " address=" + c.address + " mtu=" + std::to_string(c.mtu) +
                    "\n[Interface]\nPrivateKey = " + c.private_key + "\nListenPort = " + std::to_string(c.listen_port) +
                    "\n";
  for (const auto& p : c.peers) {
    out += "\n[Peer]\nPublicKey = " + p.public_key + "\n";
    if (!p.preshared_key.empty()) out += "PresharedKey = " + p.preshared_key + "\n";
    out += "AllowedIPs = " + p.allowed_ip + "\n";
  }
  return out;
}

PersistedConfig parse_persisted(const std::string& text) {
  PersistedConfig c;
  PeerChange* peer = nullptr;
  std::stringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# vpnbot ", 0) == 0) {
      std::stringstream fields(line.substr(9));
      std::string field;
      while (fields >> field) {
        auto eq = field.find('=');
        if (eq == std::string::npos) continue;
        auto key = field.substr(0, eq), value = field.substr(eq + 1);
        if (key == "interface") c.interface = value;
        if (key == "address") c.address = value;
        if (key == "mtu") c.mtu = std::stoi(value);
      }
      continue;
    }
    if (line == "[Peer]") {
      c.peers.emplace_back();
      peer = &c.peers.back();
      continue;
    }
    auto eq = line.find(" = ");
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 3);
    if (!peer && key == "PrivateKey") c.private_key = value;
    if (!peer && key == "ListenPort") c.listen_port = std::stoi(value);
    if (peer && key == "PublicKey") peer->public_key = value;
    if (peer && key == "PresharedKey") peer->preshared_key = value;
    if (peer && key == "AllowedIPs") peer->allowed_ip = value;
  }
  return c;
}

WgAgent::WgAgent(asio::any_io_executor ex, db::Pool& pool, std::string listen_url, const vpn::SecretBox& box,
                 AgentOptions options)
    : ex_(ex),
      pool_(pool),
      listen_url_(std::move(listen_url)),
      options_(std::move(options)),
      store_(pool, box,
             options_.node_key_file.empty()
                 ? std::nullopt
                 : std::optional(vpn::SecretBox(vpn::read_key_file(options_.node_key_file, "node key", false)))),
      wake_(ex) {}

void WgAgent::stop() {
  stopping_ = true;
  if (lease_) lease_->stop();
  wake_.notify();
}

void WgAgent::choose_backend(const std::string& ifname) {
  backend_ = options_.backend;
  if (backend_ == "auto") backend_ = std::filesystem::exists("/sys/module/wireguard") ? "kernel" : "userspace";
  if (backend_ == "kernel")
    uapi_ = std::make_unique<WgTool>(pool_.blocking_executor(), ifname, options_.state_dir);
  else
    uapi_ = std::make_unique<Uapi>(options_.uapi_socket.empty() ? Uapi::default_socket(ifname) : options_.uapi_socket);
}

std::string WgAgent::conf_path() const {
  return options_.state_dir + "/" + options_.node_name + ".conf";
}

// /var/run/wireguard is shared by every network namespace, while interfaces are not: a socket whose wireguard-go was
// killed with its namespace stays behind and would be taken for a live interface. Such a socket is removed so
// wireguard-go can be started again.
awaitable<bool> WgAgent::userspace_interface_alive(const std::string& ifname) {
  std::string socket = Uapi::default_socket(ifname);
  if (!std::filesystem::exists(socket)) co_return false;
  std::vector<std::string> exists{"ip", "link", "show", "dev", ifname};
  if (co_await run_process_async(pool_.blocking_executor(), std::move(exists), "/dev/null") == 0) co_return true;
  std::error_code ignored;
  std::filesystem::remove(socket, ignored);
  log::warn("agent", "removed a stale WireGuard socket (its interface is gone)", {{"socket", socket}});
  co_return false;
}

awaitable<void> WgAgent::ensure_interface(const std::string& ifname, const std::string& address, int mtu,
                                          const std::string& private_key, int listen_port) {
  auto blocking = pool_.blocking_executor();
  if (backend_ == "kernel") {
    std::vector<std::string> exists{"sh", "-c", "ip link show dev '" + ifname + "' >/dev/null 2>&1"};
    if (co_await run_process_async(blocking, std::move(exists)) != 0) {
      co_await interface_counters_restart();
      std::vector<std::string> create{"ip", "link", "add", "dev", ifname, "type", "wireguard"};
      if (co_await run_process_async(blocking, std::move(create)) != 0)
        throw std::runtime_error("ip link add " + ifname +
                                 " type wireguard failed: is the kernel module loaded? "
                                 "(or run with --backend userspace)");
    }
  } else if (options_.uapi_socket.empty() && !co_await userspace_interface_alive(ifname)) {
    // Userspace WireGuard (the kernel module is optional): wireguard-go daemonises once the interface exists.
    co_await interface_counters_restart();
    std::vector<std::string> create{options_.wireguard_go, ifname};
    std::string log_file = options_.state_dir + "/wireguard-go.log";
    int rc = co_await run_process_async(blocking, std::move(create), std::move(log_file));
    if (rc != 0) throw std::runtime_error("wireguard-go " + ifname + " failed (exit " + std::to_string(rc) + ")");
    for (int i = 0; i < 100 && !std::filesystem::exists(Uapi::default_socket(ifname)); ++i)
      co_await sleep_for(Millis(50));
  }
  std::vector<std::string> add{"ip", "address", "replace", address, "dev", ifname};
  int rc = co_await run_process_async(blocking, std::move(add));
  if (rc != 0) throw std::runtime_error("ip address replace on " + ifname + " failed");
  std::vector<std::string> up{"ip", "link", "set", "dev", ifname, "mtu", std::to_string(mtu), "up"};
  rc = co_await run_process_async(blocking, std::move(up));
  if (rc != 0) throw std::runtime_error("ip link set " + ifname + " up failed");
  std::vector<PeerChange> none;
  co_await uapi_->set(none, private_key, listen_port);
  log::info("agent", "interface ready",
            {{"interface", ifname}, {"address", address}, {"port", listen_port}, {"backend", backend_}});
}

awaitable<void> WgAgent::apply(std::vector<PeerChange> changes) {
  for (size_t i = 0; i < changes.size(); i += kBatch) {
    std::vector<PeerChange> chunk(changes.begin() + i, changes.begin() + std::min(changes.size(), i + kBatch));
    co_await uapi_->set(chunk);
  }
}

awaitable<int> WgAgent::full_reconcile() {
  // Taken before the pages are read: every change up to it is in them; later ones come incrementally.
  int64_t snapshot = co_await store_.committed_revision();
  // A rotated node key (vpnbot admin node credential) shows here: with the master key the new one is derived.
  if (auto fresh = co_await store_.node_by_id(node_->id)) node_->sealing_generation = fresh->sealing_generation;
  vpn::SecretBox opener = store_.node_box(*node_);
  std::map<int64_t, Wanted> wanted;
  int64_t after_id = 0;
  for (;;) {
    auto page = co_await pool_.exec(
        "SELECT id, public_key, preshared_key_enc, host(address) FROM vpn_peers "
        "WHERE node_id = $1 AND state = 'active' AND id > $2 ORDER BY id LIMIT 1000",
        node_->id, after_id);
    for (int i = 0; i < page.rows(); ++i) {
      after_id = page.get<int64_t>(i, 0);
      wanted[after_id] = {page.get<std::string>(i, 1), opener.open(page.get<std::string>(i, 2)),
                          page.get<std::string>(i, 3)};
    }
    if (page.rows() < 1000) break;
  }
  auto actual = co_await uapi_->get();
  std::vector<PeerChange> changes;
  std::set<std::string> wanted_keys;
  std::vector<int64_t> added;  // new on the interface: their counters start from zero
  for (const auto& [id, w] : wanted) {
    wanted_keys.insert(w.public_key);
    auto it = actual.peers.find(w.public_key);
    if (it == actual.peers.end()) added.push_back(id);
    if (it == actual.peers.end() || it->second.preshared_key != w.preshared_key ||
        !same_allowed_ips(it->second, w.address))
      changes.push_back({w.public_key, false, w.preshared_key, w.address + "/32"});
  }
  for (const auto& [key, _] : actual.peers)
    if (!wanted_keys.count(key)) changes.push_back({key, true, "", ""});  // peers it does not know are removed
  int drift = static_cast<int>(changes.size());
  co_await reset_baselines(std::move(added));  // first: a crash between the two then counts nothing twice
  co_await apply(std::move(changes));
  wanted_ = std::move(wanted);
  applied_revision_ = std::max(applied_revision_, snapshot);
  co_await persist();
  co_await report_status(drift);
  if (drift > 0) log::info("agent", "full reconcile corrected drift", {{"changes", drift}, {"peers", wanted_.size()}});
  co_return drift;
}

awaitable<int> WgAgent::apply_changes() {
  int total = 0;
  // Never past a revision a running transaction could still commit below (sequence values are not commit-ordered).
  int64_t horizon = co_await store_.committed_revision();
  for (;;) {
    auto changes = co_await store_.changes_since(*node_, applied_revision_, horizon, kBatch);
    if (changes.empty()) {
      applied_revision_ = std::max(applied_revision_, horizon);
      break;
    }
    std::vector<PeerChange> ops;
    std::vector<int64_t> added;  // new on the interface: their counters start from zero
    bool removes = false;
    for (const auto& c : changes) {
      auto old = wanted_.find(c.id);
      bool key_changed = old != wanted_.end() && old->second.public_key != c.public_key;
      if (key_changed || (old != wanted_.end() && c.state != "active")) {
        ops.push_back({old->second.public_key, true, "", ""});
        removes = true;
      }
      if (c.state == "active") {
        if (old == wanted_.end() || key_changed) added.push_back(c.id);
        ops.push_back({c.public_key, false, c.preshared_key, c.address + "/32"});
        wanted_[c.id] = {c.public_key, c.preshared_key, c.address};
      } else {
        if (old == wanted_.end()) ops.push_back({c.public_key, true, "", ""});  // make sure it is gone
        wanted_.erase(c.id);
      }
    }
    // A removed peer takes its counters with it: what it carried since the last reading is recorded first.
    if (removes) co_await report_stats();
    co_await reset_baselines(std::move(added));
    co_await apply(std::move(ops));
    applied_revision_ = changes.back().revision;
    total += static_cast<int>(changes.size());
    if (static_cast<int>(changes.size()) < kBatch) {
      applied_revision_ = std::max(applied_revision_, horizon);
      break;
    }
  }
  if (total > 0) {
    co_await persist();
    co_await report_status(0);
    log::info("agent", "peer changes applied", {{"changes", total}, {"revision", applied_revision_}});
  }
  co_return total;
}

awaitable<void> WgAgent::persist() {
  PersistedConfig config{node_private_key_, node_->spec.endpoint_port, {}, node_->spec.interface, node_address(),
                         node_->spec.mtu};
  for (const auto& [id, w] : wanted_) config.peers.push_back({w.public_key, false, w.preshared_key, w.address + "/32"});
  auto op =
      asio::co_spawn(pool_.blocking_executor(), write_off_loop(conf_path(), format_persisted(config)), use_awaitable);
  co_await std::move(op);
}

awaitable<void> WgAgent::report_status(int drift) {
  co_await pool_.exec(
      "INSERT INTO vpn_agent_status (node_id, applied_revision, last_reconcile, drift, peers, updated_at) "
      "VALUES ($1, $2, CASE WHEN $5 THEN now() END, $3, $4, now()) ON CONFLICT (node_id) DO UPDATE SET "
      "applied_revision = EXCLUDED.applied_revision, drift = CASE WHEN $5 THEN EXCLUDED.drift ELSE "
      "vpn_agent_status.drift END, last_reconcile = coalesce(EXCLUDED.last_reconcile, "
      "vpn_agent_status.last_reconcile), "
      "peers = EXCLUDED.peers, updated_at = now()",
      node_->id, applied_revision_, drift, static_cast<int64_t>(wanted_.size()), drift >= 0);
}

awaitable<void> WgAgent::report_stats() {
  auto state = co_await uapi_->get();
  std::vector<vpn::PeerCounters> readings;
  for (const auto& [key, p] : state.peers) readings.push_back({key, p.last_handshake_sec, p.rx_bytes, p.tx_bytes});
  // One statement for all peers; usage and quotas move in the same transaction (vpn/traffic.hpp).
  int64_t node_id = node_->id;
  co_await pool_.transaction(
      [&](db::Transaction& tx) -> awaitable<void> { co_await vpn::Traffic::record(tx, node_id, readings); });
}

awaitable<void> WgAgent::reset_baselines(std::vector<int64_t> peer_ids) {
  if (peer_ids.empty()) co_return;
  int64_t node_id = node_->id;
  co_await pool_.transaction(
      [&](db::Transaction& tx) -> awaitable<void> { co_await vpn::Traffic::reset_baselines(tx, node_id, peer_ids); });
}

awaitable<void> WgAgent::interface_counters_restart() {
  if (!node_) {
    node_baselines_stale_ = true;  // the database is away: reset once the node is known
    co_return;
  }
  int64_t node_id = node_->id;
  co_await pool_.transaction(
      [&](db::Transaction& tx) -> awaitable<void> { co_await vpn::Traffic::reset_node_baselines(tx, node_id); });
  node_baselines_stale_ = false;
}

awaitable<bool> WgAgent::restore_from_file() {
  if (!std::filesystem::exists(conf_path())) co_return false;
  auto config = parse_persisted(read_file(conf_path()));
  if (config.private_key.empty() || config.interface.empty()) co_return false;
  choose_backend(config.interface);
  co_await ensure_interface(config.interface, config.address, config.mtu, config.private_key, config.listen_port);
  co_await uapi_->set(config.peers, config.private_key, config.listen_port, true);
  log::warn("agent", "database unreachable: interface restored from the persisted config",
            {{"path", conf_path()}, {"peers", config.peers.size()}});
  co_return true;
}

std::string WgAgent::node_address() const {
  return node_->gateway_address + node_->spec.subnet_v4.substr(node_->spec.subnet_v4.find('/'));
}

awaitable<void> WgAgent::run() {
  std::filesystem::create_directories(options_.state_dir);
  ::chmod(options_.state_dir.c_str(), 0700);
  // The node, retried while the database is away; meanwhile a persisted config keeps the tunnels up.
  bool restored = false;
  Millis delay{1000};
  while (!stopping_ && !node_) {
    std::string error;
    try {
      node_ = co_await store_.node_by_name(options_.node_name);
      if (!node_) throw std::invalid_argument("no VPN node named '" + options_.node_name + "' (vpnbot admin node add)");
      node_private_key_ = co_await store_.node_private_key(*node_);
    } catch (const db::ConnectionError& e) {
      error = e.what();
    }
    if (node_) break;
    if (!restored) {
      // A reboot without the database: bring the tunnels back from the last persisted state meanwhile.
      std::string restore_error;
      try {
        restored = co_await restore_from_file();
      } catch (const std::exception& e) {
        restore_error = e.what();
      }
      if (!restore_error.empty()) log::error("agent", "restore from file failed", {{"error", restore_error}});
      restored = restored || !restore_error.empty();  // try once
    }
    log::warn("agent", "database unreachable, retrying", {{"error", error}, {"retry_ms", delay.count()}});
    co_await sleep_for(delay);
    delay = std::min(delay * 2, Millis(30000));
  }
  if (!node_) co_return;
  choose_backend(node_->spec.interface);
  lease_ = std::make_unique<jobs::LeaderLease>(ex_, pool_, "wg-agent:" + node_->spec.name, options_.owner,
                                               options_.lease_ttl);
  // A restart after a crash finds its own stale lease: it expires within one ttl. A live agent keeps renewing it,
  // so after two ttls we know another agent really manages this node and refuse.
  bool acquired = false;
  auto give_up = Clock::now() + 2 * options_.lease_ttl;
  while (!stopping_ && !(acquired = co_await lease_->try_acquire()) && Clock::now() < give_up)
    co_await sleep_for(options_.lease_ttl / 6);
  if (!acquired) throw std::runtime_error("another wg-agent already manages node '" + node_->spec.name + "'");
  lease_->on_lost = [this] {
    if (stopping_) return;  // released on a normal stop
    lease_lost_ = true;
    stopping_ = true;
    wake_.notify();
  };
  bool lease_done = false;
  asio::co_spawn(ex_, lease_->run(), [&lease_done](std::exception_ptr) { lease_done = true; });
  // Only the lease holder touches the node's baselines: reset now if the interface was restored without the database.
  if (node_baselines_stale_) co_await interface_counters_restart();
  co_await ensure_interface(node_->spec.interface, node_address(), node_->spec.mtu, node_private_key_,
                            node_->spec.endpoint_port);
  db::Listener listener(
      pool_.blocking_executor(), listen_url_, {"vpnbot_peers"},
      [this](const db::Notification& n) {
        if (n.payload == std::to_string(node_->id)) wake_.notify();
      },
      [this] { wake_.notify(); });
  bool listener_done = false;
  asio::co_spawn(ex_, listener.run(), [&listener_done](std::exception_ptr) { listener_done = true; });

  auto next_full = Clock::now();
  auto next_stats = Clock::now() + options_.stats_interval;
  bool failing = false;
  while (!stopping_) {
    wake_.reset();
    std::string error;
    try {
      if (Clock::now() >= next_full) {
        co_await full_reconcile();
        next_full = Clock::now() + options_.full_reconcile_interval;
      }
      co_await apply_changes();
      if (Clock::now() >= next_stats) {
        co_await report_stats();
        next_stats = Clock::now() + options_.stats_interval;
      }
      if (failing) log::info("agent", "recovered");
      failing = false;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      if (!failing) log::warn("agent", "sync failed, will retry", {{"error", error}});
      failing = true;
      next_full = Clock::now();  // after any failure, converge from scratch
    }
    co_await wake_.wait_for(failing ? Millis(1000) : options_.poll_interval);
  }
  listener.stop();
  lease_->stop();
  while (!listener_done || !lease_done) co_await sleep_for(Millis(10));
  if (lease_lost_) throw std::runtime_error("lost the node lease: stopped touching the interface");
}

}  // namespace vpnbot::agent
