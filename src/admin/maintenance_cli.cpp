#include "admin/maintenance_cli.hpp"

#include <iostream>
#include <optional>
#include <string>

#include "admin/run_db.hpp"
#include "core/encoding.hpp"
#include "ops/maintenance.hpp"

namespace vpnbot::admin {

Runner add_maintenance_commands(CLI::App& admin, std::shared_ptr<bool> json_out, std::shared_ptr<int64_t> actor_id) {
  auto* maintenance = admin.add_subcommand(
      "maintenance", "Maintenance mode: users get a notice, admins keep working, payments are still processed");
  maintenance->require_subcommand(1);
  auto* on = maintenance->add_subcommand("on", "Turn maintenance on");
  auto message = std::make_shared<std::string>();
  auto* message_option =
      on->add_option("--message", *message, "Shown to users after the standard notice (up to 1000 characters)")
          ->check([](const std::string& text) -> std::string {
            return utf8_length(text) > 1000 ? "the message is over 1000 characters" : "";
          });
  auto* off = maintenance->add_subcommand("off", "Turn maintenance off");
  auto* status = maintenance->add_subcommand("status", "Whether maintenance is on, since when, and its message");
  return [=](const Config& config) -> std::optional<int> {
    if (!*maintenance) return std::nullopt;
    bool as_json = *json_out;
    if (*on || *off)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        ops::Actor actor{*actor_id, "cli"};
        bool turn_on = on->parsed();
        std::optional<std::string> new_message;
        if (message_option->count()) new_message = *message;
        bool changed = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<bool> {
          co_return co_await ops::Maintenance::set(tx, actor, turn_on, new_message);
        });
        std::string state = turn_on ? "on" : "off";
        std::cout << (as_json ? nlohmann::json{{"maintenance", state}, {"changed", changed}}.dump()
                              : "maintenance is " + state + (changed ? "" : " (it already was)"))
                  << "\n";
        co_return 0;
      });
    if (!*status) return std::nullopt;
    return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
      auto state = co_await pool.transaction([](db::Transaction& tx) -> awaitable<ops::MaintenanceState> {
        co_return co_await ops::Maintenance::current(tx);
      });
      if (as_json) {
        nlohmann::json out{{"maintenance", state.on ? "on" : "off"}, {"since", state.changed_at}};
        if (state.message) out["message"] = *state.message;
        if (state.changed_by) out["changed_by"] = *state.changed_by;
        std::cout << out.dump() << "\n";
      } else {
        std::cout << "maintenance is " << (state.on ? "on" : "off") << " since " << state.changed_at << " UTC"
                  << (state.message ? "\nmessage: " + *state.message : "") << "\n";
      }
      co_return 0;
    });
  };
}

}  // namespace vpnbot::admin
