// Maintenance mode: its state and message, and the switch (the message itself is set from the CLI).
#include "ops/maintenance.hpp"
#include "bot/admin/page.hpp"

namespace vpnbot::bot::admin {

awaitable<Page> maintenance(Context& ctx, const Args&) {
  auto current = co_await ops::Maintenance::current(ctx.tx);
  Page page;
  page.text = t(ctx, "admin.maintenance.title",
                {{"state", t(ctx, current.on ? "admin.maintenance.on" : "admin.maintenance.off")},
                 {"since", current.changed_at}}) +
              "\n\n" + t(ctx, current.on ? "admin.maintenance.about_on" : "admin.maintenance.about_off");
  if (current.message)
    page.text += "\n" + t(ctx, "admin.maintenance.message", {{"message", html_escape(*current.message)}});
  page.text += "\n" + t(ctx, "admin.maintenance.how");
  page.rows = {{route_button(t(ctx, current.on ? "admin.maintenance.turn_off" : "admin.maintenance.turn_on"),
                             {"mts", current.on ? "0" : "1"})},
               {back_to(ctx, {"home"})}};
  co_return page;
}

awaitable<Outcome> switch_maintenance(Context& ctx, const Args& args) {
  if (args[1] != "0" && args[1] != "1") throw std::invalid_argument(t(ctx, "admin.maintenance.bad"));
  ops::Actor actor = actor_of(ctx);
  bool changed = co_await ops::Maintenance::set(ctx.tx, actor, args[1] == "1", std::nullopt);
  co_return Outcome{t(ctx, !changed         ? "admin.maintenance.already"
                           : args[1] == "1" ? "admin.maintenance.now_on"
                                            : "admin.maintenance.now_off"),
                    {"mt"}};
}

}  // namespace vpnbot::bot::admin
