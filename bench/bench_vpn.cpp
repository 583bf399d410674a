// VPN figures side by side in one run (original risks 3, 7, 8):
//   keypair generation in-process vs `wg genkey | wg pubkey` subprocesses;
//   config provisioning (address claim + keys + insert) at 99% fill of a /16 vs an empty pool;
//   adding one peer to an interface with 10,000 peers: one UAPI set vs rewriting the conf + `wg syncconf`.
#include <sodium.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "agent/persist.hpp"
#include "agent/uapi.hpp"
#include "agent/wg_agent.hpp"
#include "bench_support.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "db/local_cluster.hpp"
#include "db/migrations.hpp"
#include "vpn/store.hpp"
#include "vpn/traffic.hpp"

using namespace vpnbot;
using vpnbot::bench::row;
using vpnbot::bench::run_on;
using vpnbot::bench::seconds_since;

int main(int argc, char** argv) {
  CLI::App app{"VPN benchmarks"};
  int peers = 10000;
  app.add_option("--peers", peers, "peers on the interface for the add benchmark");
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return 1;
  log::init("warning");
  std::cout << "\n| benchmark (vpn) | value |\n|---|---:|\n";

  // 1. Keys.
  const int in_process = 20000, subprocesses = 200;
  auto t = Clock::now();
  for (int i = 0; i < in_process; ++i) vpn::generate_keypair();
  double per_key_in_process = seconds_since(t) / in_process;
  t = Clock::now();
  for (int i = 0; i < subprocesses; ++i) run_process({"sh", "-c", "wg genkey | wg pubkey > /dev/null"});
  double per_key_subprocess = seconds_since(t) / subprocesses;
  row("keypair in-process (libsodium)", fmt::format("{:.1f} us", per_key_in_process * 1e6));
  row("keypair via wg genkey + wg pubkey subprocesses", fmt::format("{:.1f} us", per_key_subprocess * 1e6));
  row("ratio subprocess / in-process", fmt::format("{:.0f}x", per_key_subprocess / per_key_in_process));

  // 2. Provisioning at 99% fill of a /16 vs empty.
  bench::BenchDatabase database(2, 4);
  auto& io = database.io;
  auto& pool = database.pool;
  vpn::SecretBox box(std::array<unsigned char, 32>{1});
  vpn::VpnStore store(pool, box);
  run_on(io, pool.query("INSERT INTO users (id, referral_code) SELECT g, 'u' || g FROM generate_series(1, 2000) g"));
  vpn::NodeSpec empty_spec{"empty", "NL", "A", "192.0.2.1", 51820, "wg0", "10.100.0.0/16", "", "1.1.1.1", 1420, 70000};
  vpn::NodeSpec full_spec{"full", "NL", "B", "192.0.2.2", 51820, "wg1", "10.101.0.0/16", "", "1.1.1.1", 1420, 70000};
  auto empty_node = run_on(io, store.add_node(empty_spec));
  auto full_node = run_on(io, store.add_node(full_spec));
  // 99% of the pool taken (the lowest addresses, as allocation takes them), then vacuumed like a live database.
  run_on(io, pool.exec("DELETE FROM vpn_free_addresses WHERE node_id = $1 AND address < '10.101.254.0'::inet",
                       full_node.id));
  run_on(io, pool.query("VACUUM ANALYZE vpn_free_addresses"));
  auto fill = run_on(io, store.pool_fill());
  const int allocations = 500;
  auto provision_many = [&](int64_t node_id, int user_base) -> double {
    auto start = Clock::now();
    for (int i = 0; i < allocations; ++i)
      run_on(io, store.provision(user_base + i, node_id, "b:" + std::to_string(node_id) + ":" + std::to_string(i), 5));
    return seconds_since(start) / allocations;
  };
  double empty_cost = provision_many(empty_node.id, 1);
  double full_cost = provision_many(full_node.id, 1001);
  for (const auto& f : fill)
    if (f.node_id == full_node.id)
      row("pool fill of the full /16 before the run", fmt::format("{:.2f}%", f.fill() * 100));
  row("provision one config, empty /16 pool", fmt::format("{:.3f} ms", empty_cost * 1e3));
  row("provision one config, /16 pool at 99%", fmt::format("{:.3f} ms", full_cost * 1e3));
  row("ratio 99% / empty", fmt::format("{:.2f}x", full_cost / empty_cost));

  // 2b. A traffic reading of a node's peers (vpn/traffic.hpp): every peer grew vs none did (idle peers are not
  // written), beside the plain counter write the agent did before there was accounting.
  run_on(io, pool.query("INSERT INTO subscriptions (user_id, expires_at, device_limit, traffic_limit_bytes) "
                        "SELECT g, now() + interval '30 days', 5, 1099511627776 FROM generate_series(1, 2000) g"));
  auto keys_of = [&](int64_t node_id) {
    return run_on(io, pool.exec("SELECT public_key FROM vpn_peers WHERE node_id = $1 ORDER BY id", node_id));
  };
  auto node_keys = keys_of(empty_node.id);
  auto reading_at = [&](int64_t step) {
    std::vector<vpn::PeerCounters> r;
    for (int i = 0; i < node_keys.rows(); ++i)
      r.push_back({node_keys.get<std::string>(i, 0), 1700000000 + step, 1000 * step + i, 500 * step + i});
    return r;
  };
  auto record = [&](const std::vector<vpn::PeerCounters>& r) -> double {
    auto start = Clock::now();
    run_on(io, pool.transaction([&](db::Transaction& tx) -> awaitable<int> {
      co_await vpn::Traffic::record(tx, empty_node.id, r);
      co_return 0;
    }));
    return seconds_since(start);
  };
  const int readings = 20;
  double grown = 0, idle = 0, plain = 0;
  for (int step = 1; step <= readings; ++step) {
    auto r = reading_at(step);
    grown += record(r) / readings;
    idle += record(r) / readings;  // the same counters again: nothing to write
    std::vector<std::string> keys;
    std::vector<int64_t> rx, tx;
    for (const auto& c : r) keys.push_back(c.public_key), rx.push_back(c.rx_bytes + 1), tx.push_back(c.tx_bytes);
    auto start = Clock::now();
    run_on(io, pool.exec("UPDATE vpn_peers p SET rx_bytes = s.rx, tx_bytes = s.tx FROM unnest($2::text[], "
                         "$3::bigint[], $4::bigint[]) AS s(k, rx, tx) WHERE p.node_id = $1 AND p.public_key = s.k",
                         empty_node.id, db::to_text_array(keys), db::to_bigint_array(rx), db::to_bigint_array(tx)));
    plain += seconds_since(start) / readings;
  }
  row(fmt::format("traffic reading of {} peers, all grew (usage + subscriptions)", node_keys.rows()),
      fmt::format("{:.2f} ms", grown * 1e3));
  row(fmt::format("traffic reading of {} peers, all idle", node_keys.rows()), fmt::format("{:.2f} ms", idle * 1e3));
  row("plain counter write of the same peers (no accounting)", fmt::format("{:.2f} ms", plain * 1e3));
  row("ratio accounting / plain write", fmt::format("{:.2f}x", grown / plain));

  // 3. Incremental peer add vs full rewrite + syncconf, on a real wireguard-go interface in a private namespace.
  std::string ns = "vb-bench-" + std::to_string(getpid());
  bool can_netns = geteuid() == 0 && std::filesystem::exists("/dev/net/tun") &&
                   run_process({"sh", "-c", "command -v wireguard-go >/dev/null && ip netns add " + ns}) == 0;
  if (!can_netns) {
    row("peer add at 10k peers", "skipped: needs root, /dev/net/tun, wireguard-go and ip netns");
    return 0;
  }
  std::string ifname = "vbb" + std::to_string(getpid() % 100000);
  run_process({"ip", "netns", "exec", ns, "wireguard-go", ifname}, "/dev/null");
  agent::Uapi uapi(agent::Uapi::default_socket(ifname), Millis(60000));
  agent::PersistedConfig conf{vpn::generate_keypair().private_key, 51820, {}};
  for (int i = 0; i < peers; ++i)
    conf.peers.push_back({vpn::generate_keypair().public_key, false, vpn::generate_preshared_key(),
                          fmt::format("10.{}.{}.{}/32", 50 + i / 65536, (i / 256) % 256, i % 256)});
  run_on(io, [&]() -> awaitable<int> {
    co_await uapi.set(conf.peers, conf.private_key, 51820, true);
    co_return 0;
  }());
  const int incremental_adds = 50;
  t = Clock::now();
  for (int i = 0; i < incremental_adds; ++i) {
    std::vector<agent::PeerChange> one{{vpn::generate_keypair().public_key, false, vpn::generate_preshared_key(),
                                        fmt::format("10.200.0.{}/32", i + 1)}};
    run_on(io, [&]() -> awaitable<int> {
      co_await uapi.set(one);
      co_return 0;
    }());
  }
  double incremental = seconds_since(t) / incremental_adds;
  std::string path = "/tmp/" + ns + ".conf";
  const int rewrites = 3;
  t = Clock::now();
  for (int i = 0; i < rewrites; ++i) {
    conf.peers.push_back({vpn::generate_keypair().public_key, false, vpn::generate_preshared_key(),
                          fmt::format("10.201.0.{}/32", i + 1)});
    agent::write_file_atomically(path, agent::format_persisted(conf));
    run_process({"ip", "netns", "exec", ns, "wg", "syncconf", ifname, path});
  }
  double rewrite = seconds_since(t) / rewrites;
  remove_network_namespace(ns);
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".lock");
  row(fmt::format("add one peer at {} peers: one UAPI set (agent)", peers),
      fmt::format("{:.2f} ms", incremental * 1e3));
  row(fmt::format("add one peer at {} peers: rewrite conf + wg syncconf", peers),
      fmt::format("{:.1f} ms", rewrite * 1e3));
  row("ratio rewrite / incremental", fmt::format("{:.0f}x", rewrite / incremental));
  pool.close();
  return 0;
}
