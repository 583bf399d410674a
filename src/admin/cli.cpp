#include "admin/cli.hpp"

#include "ops/operations.hpp"

#include "admin/backup_cli.hpp"
#include "admin/billing_cli.hpp"
#include "admin/broadcast_cli.hpp"
#include "admin/maintenance_cli.hpp"
#include "admin/run_db.hpp"
#include "admin/shop_cli.hpp"

#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iostream>

#include "agent/wg_agent.hpp"
#include "core/log.hpp"
#include "db/migrations.hpp"
#include "db/pool.hpp"
#include "vpn/client_config.hpp"
#include "vpn/node_access.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/store.hpp"

namespace vpnbot::admin {
namespace {

vpn::SecretBox master_key(const Config& config) {
  if (config.vpn.master_key_file.empty())
    throw ConfigError("config: master_key_file (env VPNBOT_MASTER_KEY_FILE) is required for this command");
  return vpn::SecretBox::from_file(config.vpn.master_key_file, false);
}

struct NodeArgs {
  vpn::NodeSpec spec;
  std::string name, state;
  std::string backend = "wireguard";
  remnawave::PanelNodeSpec panel;
  std::string token_file, token_env;
};

// The panel's API token, from a file (trailing newline dropped) or an environment variable: never an argument,
// which other users of the machine could read in the process list.
std::string panel_token(const NodeArgs& args) {
  std::string token;
  if (!args.token_file.empty()) {
    std::ifstream in(args.token_file);
    if (!in) throw std::invalid_argument("cannot read --token-file " + args.token_file);
    std::getline(in, token);
  } else if (!args.token_env.empty()) {
    const char* value = std::getenv(args.token_env.c_str());
    if (!value) throw std::invalid_argument("environment variable " + args.token_env + " is not set");
    token = value;
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) throw std::invalid_argument("a remnawave node needs --token-file or --token-env with the token");
  return token;
}

}  // namespace

Runner add_commands(CLI::App& app, std::string& config_file) {
  auto* admin = app.add_subcommand("admin", "Operator commands (nodes, configs)");
  admin->add_option("--config", config_file, "TOML config file")->check(CLI::ExistingFile);
  admin->require_subcommand(1);
  auto json_out = std::make_shared<bool>(false);
  admin->add_flag("--json", *json_out, "Machine-readable output");
  auto actor_id = std::make_shared<int64_t>(0);
  admin->add_option("--actor", *actor_id, "Your Telegram id, recorded in the audit log with each change");

  auto* node = admin->add_subcommand("node", "VPN nodes");
  node->require_subcommand(1);
  auto node_args = std::make_shared<NodeArgs>();
  auto* node_add = node->add_subcommand("add", "Add a node: keypair generated, address pool filled");
  auto& s = node_args->spec;
  node_add->add_option("--name", s.name, "Short name ([a-z0-9-])")->required();
  node_add->add_option("--country", s.country_code, "ISO country code, e.g. NL")->required();
  node_add->add_option("--location", s.location, "Display name, e.g. Amsterdam")->required();
  node_add->add_option("--backend", node_args->backend, "wireguard (a wg-agent node) or remnawave (a panel)")
      ->check(CLI::IsMember({"wireguard", "remnawave"}));
  node_add->add_option("--endpoint", s.endpoint_host, "WireGuard: public host or IP clients connect to");
  node_add->add_option("--panel-url", node_args->panel.panel_url, "Remnawave: the panel's URL (https://...)");
  node_add->add_option("--token-file", node_args->token_file, "Remnawave: file holding the panel's API token");
  node_add->add_option("--token-env", node_args->token_env, "Remnawave: environment variable holding the token");
  node_add->add_option("--squad", node_args->panel.squads, "Remnawave: internal squad uuid (repeat for several)");
  node_add->add_option("--protocol", node_args->panel.protocol, "Remnawave: what users are told it speaks");
  node_add->add_option("--api-version", node_args->panel.api_version, "Remnawave: the panel's API, 2 (2.x) or 3 (3.x)")
      ->check(CLI::IsMember({2, 3}));
  node_add->add_option("--port", s.endpoint_port, "UDP port")->check(CLI::Range(1, 65535));
  node_add->add_option("--interface", s.interface, "Interface name");
  node_add->add_option("--subnet", s.subnet_v4, "Tunnel IPv4 subnet, e.g. 10.8.0.0/24");
  node_add->add_option("--subnet6", s.subnet_v6, "Optional tunnel IPv6 subnet");
  node_add->add_option("--dns", s.dns, "DNS for clients");
  node_add->add_option("--mtu", s.mtu, "MTU")->check(CLI::Range(1280, 9000));
  node_add->add_option("--capacity", s.capacity, "Max configs on this node")->check(CLI::Range(1, 1000000));
  auto* node_list = node->add_subcommand("list", "Nodes with their pool fill");
  auto* node_state = node->add_subcommand("set-state", "enable, drain (no new configs) or disable a node");
  node_state->add_option("name", node_args->name)->required();
  node_state->add_option("state", node_args->state)
      ->required()
      ->check(CLI::IsMember({"enabled", "draining", "disabled"}));
  auto* node_credential = node->add_subcommand(
      "credential", "WireGuard: issue (or rotate) a node's own database role and sealing key, for its wg-agent");
  node_credential->add_option("name", node_args->name)->required();
  auto credential_dir = std::make_shared<std::string>();
  node_credential->add_option("--out", *credential_dir, "Directory for database.url and node.key (mode 0600)")
      ->required();
  auto* node_resync = node->add_subcommand(
      "resync", "Remnawave: send the accounts the panel refused (see `user show`) again, once fixed on the panel");
  node_resync->add_option("name", node_args->name)->required();
  auto resync_account = std::make_shared<int64_t>(0);
  node_resync->add_option("--account", *resync_account, "Only this account (any state), not every refused one")
      ->check(CLI::PositiveNumber);

  auto* peer = admin->add_subcommand("config", "User configs (WireGuard peers)");
  peer->require_subcommand(1);
  auto peer_user = std::make_shared<int64_t>(0);
  auto peer_id = std::make_shared<int64_t>(0);
  auto peer_node = std::make_shared<std::string>();
  auto peer_state = std::make_shared<std::string>();
  auto* peer_add = peer->add_subcommand("add", "Create a config for a user");
  peer_add->add_option("--user", *peer_user, "Telegram user id")->required();
  peer_add->add_option("--node", *peer_node, "Node name (default: the least filled)");
  auto* peer_set = peer->add_subcommand("set-state", "active, disabled or removed");
  peer_set->add_option("id", *peer_id)->required();
  peer_set->add_option("state", *peer_state)->required()->check(CLI::IsMember({"active", "disabled", "removed"}));
  auto* peer_move = peer->add_subcommand("move", "Move a config to another node (new address and keys)");
  peer_move->add_option("id", *peer_id)->required();
  peer_move->add_option("--node", *peer_node, "Target node name")->required();
  auto* peer_show = peer->add_subcommand("show", "Print a config's .conf");
  peer_show->add_option("id", *peer_id)->required();
  auto* peer_qr = peer->add_subcommand("qr", "Write a config's QR code PNG");
  auto qr_path = std::make_shared<std::string>();
  peer_qr->add_option("id", *peer_id)->required();
  peer_qr->add_option("--out", *qr_path, "PNG file")->required();

  auto billing_runner = add_billing_commands(*admin, json_out, actor_id);
  auto broadcast_runner = add_broadcast_commands(*admin, json_out, actor_id);
  auto maintenance_runner = add_maintenance_commands(*admin, json_out, actor_id);
  auto shop_runner = add_shop_commands(*admin, json_out, actor_id);
  auto backup_runner = add_backup_commands(*admin, json_out);

  auto* agent = app.add_subcommand("wg-agent", "Apply one node's peers to its WireGuard interface (CAP_NET_ADMIN)");
  agent->add_option("--config", config_file, "TOML config file")->check(CLI::ExistingFile);
  auto agent_options = std::make_shared<agent::AgentOptions>();
  agent->add_option("--node", agent_options->node_name, "Node name")->required();
  agent->add_option("--state-dir", agent_options->state_dir, "Where the persisted interface config lives");
  agent->add_option("--wireguard-go", agent_options->wireguard_go, "wireguard-go binary");
  auto credential_dir_of_agent = std::make_shared<std::string>();
  agent->add_option("--credential-dir", *credential_dir_of_agent,
                    "The node's own credential (`admin node credential --out`): its database role (database.url) "
                    "and key (node.key); then neither the shop's database password nor the master key is needed");
  agent->add_option("--backend", agent_options->backend, "auto, userspace (wireguard-go) or kernel")
      ->check(CLI::IsMember({"auto", "userspace", "kernel"}));
  auto poll_ms = std::make_shared<int>(2000);
  auto full_ms = std::make_shared<int>(60000);
  agent->add_option("--poll-ms", *poll_ms, "Poll interval (NOTIFY wakes sooner)");
  agent->add_option("--full-reconcile-ms", *full_ms, "Full reconcile interval");
  auto stats_ms = std::make_shared<int>(30000);
  agent->add_option("--stats-ms", *stats_ms, "How often handshakes and traffic are written back");

  return [=](const Config& config) -> std::optional<int> {
    if (*agent) {
      // A node with its own credential never holds the master key (nothing else it opens needs it).
      Config agent_config = config;
      if (!credential_dir_of_agent->empty()) {
        agent_config.db.url = agent_config.db.listen_url = vpn::read_node_database_url(*credential_dir_of_agent);
        agent_options->node_key_file = *credential_dir_of_agent + "/node.key";
      }
      auto box =
          agent_options->node_key_file.empty() ? master_key(config) : vpn::SecretBox(std::array<unsigned char, 32>{});
      agent_options->owner = config.process.instance_id;
      agent_options->poll_interval = Millis(*poll_ms);
      agent_options->full_reconcile_interval = Millis(*full_ms);
      agent_options->stats_interval = Millis(*stats_ms);
      agent_options->lease_ttl = Millis(config.jobs.lease_ttl_ms);
      asio::io_context io(1);
      asio::thread_pool blocking(2);
      db::Pool pool(io.get_executor(), blocking.get_executor(), admin_pool_options(agent_config));
      agent::WgAgent wg(io.get_executor(), pool, agent_config.db.listen_url, box, *agent_options);
      asio::signal_set signals(io, SIGINT, SIGTERM);
      signals.async_wait([&](auto, int) { wg.stop(); });
      int rc = 0;
      asio::co_spawn(io, wg.run(), [&](std::exception_ptr e) {
        if (e) {
          log::error("agent", "stopped", {{"error", log::what(e)}});
          rc = 1;
        }
        signals.cancel();
        pool.close();
      });
      io.run();
      blocking.join();
      return rc;
    }
    if (!*admin) return std::nullopt;
    if (auto rc = billing_runner(config)) return rc;
    if (auto rc = broadcast_runner(config)) return rc;
    if (auto rc = maintenance_runner(config)) return rc;
    if (auto rc = shop_runner(config)) return rc;
    if (auto rc = backup_runner(config)) return rc;
    bool as_json = *json_out;
    if (*node_add)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto box = master_key(config);
        co_await db::migrate(pool, db::embedded_migrations());
        if (node_args->backend == "remnawave") {
          auto spec = node_args->panel;
          spec.name = node_args->spec.name;
          spec.country_code = node_args->spec.country_code;
          spec.location = node_args->spec.location;
          spec.capacity = node_args->spec.capacity;
          if (spec.panel_url.empty()) throw std::invalid_argument("a remnawave node needs --panel-url");
          spec.token = panel_token(*node_args);
          auto n = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<remnawave::PanelNode> {
            co_return co_await remnawave::Accounts::add_node(tx, box, spec);
          });
          std::cout << (as_json ? nlohmann::json{{"id", n.id}, {"name", n.name}, {"backend", "remnawave"}}.dump()
                                : "remnawave node " + n.name + " added (id " + std::to_string(n.id) + ")")
                    << "\n";
          co_return 0;
        }
        if (node_args->spec.endpoint_host.empty()) throw std::invalid_argument("a wireguard node needs --endpoint");
        vpn::VpnStore store(pool, box);
        auto n = co_await store.add_node(node_args->spec);
        std::cout << (as_json ? nlohmann::json{{"id", n.id}, {"name", n.spec.name}, {"public_key", n.public_key}}.dump()
                              : "node " + n.spec.name + " added (id " + std::to_string(n.id) + ", public key " +
                                    n.public_key + ")")
                  << "\n";
        co_return 0;
      });
    if (*node_list)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        vpn::SecretBox unused(std::array<unsigned char, 32>{});
        vpn::VpnStore store(pool, unused);
        auto nodes = co_await store.list_nodes();
        auto fill = co_await store.pool_fill();
        nlohmann::json out = nlohmann::json::array();
        for (size_t i = 0; i < nodes.size(); ++i)
          out.push_back({{"name", nodes[i].spec.name},
                         {"location", nodes[i].spec.country_code + " " + nodes[i].spec.location},
                         {"endpoint", nodes[i].spec.endpoint_host + ":" + std::to_string(nodes[i].spec.endpoint_port)},
                         {"state", nodes[i].state},
                         {"addresses_free", fill[i].free},
                         {"addresses_total", fill[i].total},
                         {"fill", fill[i].fill()},
                         {"backend", "wireguard"}});
        // Panel nodes: their URL, never their token.
        auto panels =
            co_await pool.transaction([](db::Transaction& tx) -> awaitable<std::vector<remnawave::PanelNode>> {
              co_return co_await remnawave::Accounts::list_nodes(tx);
            });
        for (const auto& p : panels)
          out.push_back({{"name", p.name},
                         {"location", p.country_code + " " + p.location},
                         {"endpoint", p.panel_url},
                         {"state", p.state},
                         {"addresses_free", p.capacity - p.accounts},
                         {"addresses_total", p.capacity},
                         {"fill", p.capacity ? double(p.accounts) / p.capacity : 1.0},
                         {"backend", "remnawave"},
                         {"protocol", p.protocol},
                         {"api_version", p.api_version},
                         {"squads", p.squads}});
        if (as_json) {
          std::cout << out.dump() << "\n";
        } else {
          std::cout << fmt::format("{:<16} {:<20} {:<24} {:<9} {:>12}\n", "NAME", "LOCATION", "ENDPOINT", "STATE",
                                   "FREE/TOTAL");
          for (const auto& n : out)
            std::cout << fmt::format("{:<16} {:<20} {:<24} {:<9} {:>12}\n", n["name"].get<std::string>(),
                                     n["location"].get<std::string>(), n["endpoint"].get<std::string>(),
                                     n["state"].get<std::string>(),
                                     std::to_string(n["addresses_free"].get<int64_t>()) + "/" +
                                         std::to_string(n["addresses_total"].get<int64_t>()));
        }
        co_return 0;
      });
    if (*node_state)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        ops::Actor actor{*actor_id, "cli"};
        bool ok = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<bool> {
          co_return co_await ops::Operations::set_node_state(tx, actor, node_args->name, node_args->state);
        });
        if (!ok) std::cerr << "vpnbot admin: no node named " << node_args->name << "\n";
        co_return ok ? 0 : 1;
      });
    if (*node_credential)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto box = master_key(config);
        auto credential = co_await vpn::issue_node_credential(pool, box, config.db.url, node_args->name);
        auto [url_file, key_file] = vpn::write_node_credential(credential, *credential_dir);
        ops::Actor actor{*actor_id, "cli"};
        std::string action = "node_credential";
        nlohmann::json details{{"node", node_args->name}, {"generation", credential.generation}};
        co_await pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
          co_await ops::Audit::record(tx, actor, action, std::nullopt, details);
        });
        std::cout << (as_json
                          ? nlohmann::json{{"node", node_args->name},
                                           {"role", credential.role},
                                           {"generation", credential.generation},
                                           {"database_url_file", url_file},
                                           {"node_key_file", key_file}}
                                .dump()
                          : "node " + node_args->name + ": role " + credential.role + ", key generation " +
                                std::to_string(credential.generation) + "\n  " + url_file + "\n  " + key_file +
                                "\ncopy both into the node's credential directory (mode 0700) and restart its wg-agent "
                                "with --credential-dir (no master key there)")
                  << "\n";
        co_return 0;
      });
    if (*node_resync)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        ops::Actor actor{*actor_id, "cli"};
        std::optional<int64_t> account;
        if (*resync_account > 0) account = *resync_account;
        int64_t asked = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
          co_return co_await ops::Operations::resync_panel_node(tx, actor, node_args->name, account);
        });
        std::cout << (as_json
                          ? nlohmann::json{{"node", node_args->name}, {"accounts", asked}}.dump()
                          : std::to_string(asked) + " account(s) of " + node_args->name + " sent to the panel again")
                  << "\n";
        co_return 0;
      });
    if (*peer_add)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto box = master_key(config);
        vpn::VpnStore store(pool, box);
        std::optional<int64_t> node_id;
        if (!peer_node->empty()) {
          auto n = co_await store.node_by_name(*peer_node);
          if (!n) throw std::invalid_argument("no node named " + *peer_node);
          node_id = n->id;
        }
        std::string code = "admin" + std::to_string(*peer_user);
        co_await pool.exec("INSERT INTO users (id, referral_code) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                           *peer_user, code);
        std::string key =
            "admin:" + std::to_string(::getpid()) + ":" + std::to_string(Clock::now().time_since_epoch().count());
        auto p = co_await store.provision(*peer_user, node_id, key, config.vpn.device_limit);
        std::cout << (as_json ? nlohmann::json{{"id", p.id}, {"address", p.address}, {"node_id", p.node_id}}.dump()
                              : "config " + std::to_string(p.id) + " at " + p.address)
                  << "\n";
        co_return 0;
      });
    if (*peer_set)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        vpn::SecretBox unused(std::array<unsigned char, 32>{});
        vpn::VpnStore store(pool, unused);
        bool ok = co_await store.set_peer_state(*peer_id, *peer_state);
        if (!ok) std::cerr << "vpnbot admin: config " << *peer_id << " not found or already " << *peer_state << "\n";
        co_return ok ? 0 : 1;
      });
    if (*peer_move)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto box = master_key(config);
        vpn::VpnStore store(pool, box);
        auto target = co_await store.node_by_name(*peer_node);
        if (!target) throw std::invalid_argument("no node named " + *peer_node);
        auto moved = co_await store.move_to_node(*peer_id, target->id);
        std::cout << (as_json ? nlohmann::json{{"id", moved.id}, {"address", moved.address}}.dump()
                              : "config " + std::to_string(*peer_id) + " moved: new config " +
                                    std::to_string(moved.id) + " at " + moved.address)
                  << "\n";
        co_return 0;
      });
    if (*peer_show || *peer_qr)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto box = master_key(config);
        vpn::VpnStore store(pool, box);
        auto data = co_await store.client_config(*peer_id);
        auto text = vpn::render_client_config(data);
        if (!qr_path->empty()) {
          std::ofstream(*qr_path, std::ios::binary) << vpn::qr_png(text);
          std::cout << "QR code written to " << *qr_path << "\n";
        } else {
          std::cout << text;
        }
        co_return 0;
      });
    return std::nullopt;
  };
}

}  // namespace vpnbot::admin
