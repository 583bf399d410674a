#include <sodium.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <thread>

#include "admin/cli.hpp"
#include "app/sandbox.hpp"
#include "app/serve.hpp"
#include "billing/webhooks.hpp"
#include "config/config.hpp"
#include "core/log.hpp"
#include "db/local_cluster.hpp"
#include "emulator/emulator_thread.hpp"
#include "vpn/keys.hpp"
#include "vpn/node_access.hpp"

using namespace vpnbot;

namespace {

Config load(const std::string& config_file, const std::string& roles, std::map<std::string, std::string> env) {
  if (!roles.empty()) env["VPNBOT_ROLES"] = roles;
  return load_config(config_file.empty() ? std::nullopt : std::optional(config_file), env);
}

void print_config_keys(bool markdown) {
  if (markdown) {
    std::cout << "| key (TOML) | env | type | default | description |\n|---|---|---|---|---|\n";
    for (const auto& k : config_keys())
      std::cout << "| `" << k.key << "` | `" << k.env << "` | " << k.type << " | "
                << (k.required ? "**required**" : (k.default_value.empty() ? "(empty)" : "`" + k.default_value + "`"))
                << " | " << k.description << " |\n";
    return;
  }
  for (const auto& k : config_keys())
    std::cout << k.env << " (" << k.type << (k.required ? ", required" : ", default " + k.default_value)
              << "): " << k.description << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::cerr << "libsodium failed to initialise\n";
    return 1;
  }
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"vpnbot: a Telegram bot that sells WireGuard VPN access"};
  app.require_subcommand(1);
  std::string config_file, roles;

  auto* serve = app.add_subcommand("serve", "Run the bot: gateway (HTTP), worker (jobs) and scheduler roles");
  serve->add_option("--config", config_file, "TOML config file (VPNBOT_* env vars override it)")
      ->check(CLI::ExistingFile);
  serve->add_option("--roles", roles, "Comma-separated roles: gateway,worker,scheduler (default: all)");

  auto* migrate = app.add_subcommand("migrate", "Apply database migrations (safe to run concurrently)");
  migrate->add_option("--config", config_file, "TOML config file")->check(CLI::ExistingFile);
  bool status_only = false;
  migrate->add_flag("--status", status_only, "Only report applied and pending migrations (exit 3 if pending)");

  auto* sandbox = app.add_subcommand("sandbox", "Run everything offline on this box with a throwaway PostgreSQL");
  sandbox->add_option("--config", config_file, "TOML config file")->check(CLI::ExistingFile);

  auto* emulate = app.add_subcommand("emulate", "Run a local emulator of an external service (tests, sandbox)");
  auto* emulate_telegram = emulate->add_subcommand("telegram", "The Telegram Bot API with a client API for tests");
  emulate->require_subcommand(1);
  std::string emulator_listen = "127.0.0.1:8081";
  emulator::TelegramEmulatorOptions emulator_options;
  emulate_telegram->add_option("--listen", emulator_listen, "host:port to listen on (port 0 picks a free one)");
  emulate_telegram->add_option("--token", emulator_options.token, "The bot token it accepts");
  emulate_telegram->add_option("--global-rate", emulator_options.global_per_second, "Messages/s before 429");
  emulate_telegram->add_option("--private-chat-burst", emulator_options.private_chat_burst,
                               "Messages one private chat may get at once (then 1/s)");

  auto admin_runner = admin::add_commands(app, config_file);

  auto* version = app.add_subcommand("version", "Print the version");
  auto* config_cmd = app.add_subcommand("config", "Inspect configuration");
  auto* keys = config_cmd->add_subcommand("keys", "List every setting");
  bool markdown = false;
  keys->add_flag("--markdown", markdown, "As a Markdown table");
  auto* check = config_cmd->add_subcommand("check", "Validate the config file and environment, then exit");
  check->add_option("--config", config_file, "TOML config file")->check(CLI::ExistingFile);
  config_cmd->require_subcommand(1);

  // Bad arguments exit with 2 (usage error), after CLI11's message; --help exits 0.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }

  try {
    if (*version) {
      std::cout << "vpnbot " << VPNBOT_VERSION << "\n";
      return 0;
    }
    if (*emulate_telegram) {
      log::init("info");
      emulator_options.listen = parse_host_port("--listen", emulator_listen);
      asio::io_context io(1);
      emulator::TelegramEmulator emulator(io.get_executor(), emulator_options);
      emulator.start();
      // The first stdout line tells a parent process (tests, sandbox) where it listens.
      std::cout << "{\"telegram_emulator\":\"" << emulator.base_url() << "\"}" << std::endl;
      asio::signal_set signals(io, SIGINT, SIGTERM);
      signals.async_wait(
          [&](auto, int) { asio::co_spawn(io, emulator.shutdown(), [&](std::exception_ptr) { io.stop(); }); });
      io.run();
      return 0;
    }
    if (app.got_subcommand("admin") || app.got_subcommand("wg-agent")) {
      auto environment = process_environment();
      // An isolated node's agent has its database in its credential directory, not in the shop's settings.
      if (auto* credential = app.get_subcommand("wg-agent")->get_option("--credential-dir"); credential->count() > 0)
        environment["VPNBOT_DATABASE_URL"] = vpn::read_node_database_url(credential->as<std::string>());
      auto config = load(config_file, "", environment);
      log::init(config.process.log_level);
      if (auto rc = admin_runner(config)) return *rc;
    }
    if (*keys) {
      print_config_keys(markdown);
      return 0;
    }
    if (*check) {
      load(config_file, "", process_environment());
      std::cout << "config ok\n";
      return 0;
    }
    if (*migrate) {
      auto config = load(config_file, "", process_environment());
      log::init(config.process.log_level);
      return app::migrate(config, status_only);
    }
    if (*serve) {
      auto config = load(config_file, roles, process_environment());
      log::init(config.process.log_level);
      log::use_writer_thread();
      int rc = app::serve(config);
      log::flush();
      return rc;
    }
    if (*sandbox)
      return app::run_sandbox(config_file.empty() ? std::nullopt : std::optional(config_file), process_environment());
  } catch (const CLI::Error& e) {  // an argument found invalid after parsing (e.g. an amount that is not money)
    std::cerr << "vpnbot: " << e.what() << "\n";
    return 2;
  } catch (const ConfigError& e) {
    log::error("config", e.what());
    std::cerr << "vpnbot: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    log::error("app", "fatal", {{"error", e.what()}});
    return 1;
  }
  return 0;
}
