#include "admin/broadcast_cli.hpp"

#include <fmt/format.h>

#include <iostream>

#include "admin/run_db.hpp"
#include "broadcast/broadcasts.hpp"
#include "ops/operations.hpp"

namespace vpnbot::admin {
namespace {

struct BroadcastArgs {
  broadcast::BroadcastSpec spec;
  std::string photo, audience_arg;
  std::vector<std::string> buttons;  // "Text|https://..."
  int64_t id = 0;
  int64_t chat = 0;
  int64_t admin = 0;
};

}  // namespace

Runner add_broadcast_commands(CLI::App& admin, std::shared_ptr<bool> json_out, std::shared_ptr<int64_t> actor_id) {
  auto* bc = admin.add_subcommand("broadcast", "Broadcasts to users (resumable, each recipient at most once)");
  bc->require_subcommand(1);
  auto a = std::make_shared<BroadcastArgs>();
  auto* create = bc->add_subcommand("create", "Create a draft (preview it, then start it)");
  create->add_option("--text", a->spec.text, "Message (HTML)")->required();
  create->add_option("--photo", a->photo, "Photo URL or file_id (the text becomes its caption)");
  create->add_option("--button", a->buttons, "A URL button as 'Text|https://...' (repeatable)");
  create->add_option("--audience", a->spec.audience, "all, active, expired, never_paid, trial, language, node")
      ->check(CLI::IsMember({"all", "active", "expired", "never_paid", "trial", "language", "node"}));
  create->add_option("--arg", a->audience_arg, "Language code (audience language) or node name (audience node)");
  create->add_option("--admin", a->admin, "Your Telegram id (recorded)");
  auto* preview = bc->add_subcommand("preview", "Send one copy to an admin's chat");
  preview->add_option("id", a->id)->required();
  preview->add_option("--to", a->chat, "Telegram id of the admin")->required();
  auto* start = bc->add_subcommand("start", "Start (or resume) a broadcast");
  start->add_option("id", a->id)->required();
  start->add_option("--status-chat", a->chat, "Telegram id that gets a live progress message");
  auto* resume = bc->add_subcommand("resume", "Resume a paused broadcast");
  resume->add_option("id", a->id)->required();
  auto* pause = bc->add_subcommand("pause", "Pause: nothing more is queued or sent until resume");
  pause->add_option("id", a->id)->required();
  auto* cancel = bc->add_subcommand("cancel", "Cancel: what was not sent yet never will be");
  cancel->add_option("id", a->id)->required();
  auto* status = bc->add_subcommand("status", "Progress of one broadcast");
  status->add_option("id", a->id)->required();
  auto* list = bc->add_subcommand("list", "Recent broadcasts");

  return [=](const Config& config) -> std::optional<int> {
    ops::Actor actor{*actor_id, "cli"};
    bool as_json = *json_out;
    auto print = [as_json](const broadcast::Progress& p) {
      std::cout << (as_json ? p.to_json().dump() : p.summary()) << "\n";
    };
    if (*create) {
      if (!a->photo.empty()) a->spec.photo = a->photo;
      if (!a->audience_arg.empty()) a->spec.audience_arg = a->audience_arg;
      if (a->admin) a->spec.created_by = a->admin;
      for (const auto& b : a->buttons) {
        auto bar = b.find('|');
        if (bar == std::string::npos || bar == 0) throw CLI::ValidationError("--button", "use 'Text|https://...'");
        a->spec.buttons.push_back({{"text", b.substr(0, bar)}, {"url", b.substr(bar + 1)}});
      }
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto id = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
          co_return co_await broadcast::Broadcasts::create(tx, a->spec);
        });
        std::cout << (as_json ? nlohmann::json{{"id", id}}.dump()
                              : fmt::format("broadcast {} created as a draft: preview it, then start it", id))
                  << "\n";
        co_return 0;
      });
    }
    if (*preview || *start || *resume || *pause || *cancel) {
      std::string verb = preview->parsed()  ? "preview"
                         : start->parsed()  ? "start"
                         : resume->parsed() ? "resume"
                         : pause->parsed()  ? "pause"
                                            : "cancel";
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        bool ok = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<bool> {
          if (verb == "preview") {
            co_await broadcast::Broadcasts::preview(tx, a->id, a->chat);
            co_return true;
          }
          bool changed = false;
          if (verb == "start" || verb == "resume") {
            std::optional<int64_t> chat;
            if (a->chat) chat = a->chat;
            changed = co_await broadcast::Broadcasts::start(tx, a->id, chat);
          } else if (verb == "pause") {
            changed = co_await broadcast::Broadcasts::pause(tx, a->id);
          } else {
            changed = co_await broadcast::Broadcasts::cancel(tx, a->id);
          }
          if (changed) {
            std::string action = "broadcast_" + verb;
            nlohmann::json details{{"broadcast_id", a->id}};
            co_await ops::Audit::record(tx, actor, action, std::nullopt, details);
          }
          co_return changed;
        });
        if (!ok) {
          std::cerr << "vpnbot admin: broadcast " << a->id << " cannot " << verb << " in its current state\n";
          co_return 1;
        }
        auto p = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::optional<broadcast::Progress>> {
          co_return co_await broadcast::Broadcasts::progress(tx, a->id);
        });
        if (p) print(*p);
        co_return 0;
      });
    }
    if (*status)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto p = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::optional<broadcast::Progress>> {
          co_return co_await broadcast::Broadcasts::progress(tx, a->id);
        });
        if (!p) {
          std::cerr << "vpnbot admin: no broadcast " << a->id << "\n";
          co_return 1;
        }
        print(*p);
        co_return 0;
      });
    if (*list)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto all = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::vector<broadcast::Progress>> {
          co_return co_await broadcast::Broadcasts::list(tx, 50);
        });
        for (const auto& p : all) print(p);
        co_return 0;
      });
    return std::nullopt;
  };
}

}  // namespace vpnbot::admin
