// The panel's home page, statistics and the audit log.
#include "bot/admin/page.hpp"
#include "ops/maintenance.hpp"
#include "ops/stats.hpp"

namespace vpnbot::bot::admin {

awaitable<Page> home(Context& ctx, const Args&) {
  auto maintenance = co_await ops::Maintenance::current(ctx.tx);
  Page page{t(ctx, "admin.home.title"), {}};
  if (maintenance.on) page.text += "\n" + t(ctx, "admin.home.maintenance_on");
  auto link = [&](std::string_view key, std::string id) { return route_button(t(ctx, key), {std::move(id)}); };
  page.rows = {{link("admin.home.stats", "st"), link("admin.home.find", "find")},
               {link("admin.home.plans", "plans"), link("admin.home.promos", "promos")},
               {link("admin.home.nodes", "nodes"), link("admin.home.broadcast", "bc")},
               {link("admin.home.groups", "grp"), link("admin.home.gifts", "gifts")},
               {link("admin.home.tickets", "tickets"), link("admin.home.traffic", "trf")},
               {link("admin.home.audit", "audit"),
                link(maintenance.on ? "admin.home.maintenance_is_on" : "admin.home.maintenance", "mt")},
               {button(t(ctx, "common.back"), route::screen("menu"))}};
  co_return page;
}

awaitable<Page> statistics(Context& ctx, const Args&) {
  auto stats = co_await ops::collect_stats(ctx.tx);
  co_return Page{t(ctx, "admin.stats.title") + "\n\n" + stats.render(true),
                 {{route_button(t(ctx, "admin.refresh"), {"st"})}, {back_to(ctx, {"home"})}}};
}

awaitable<Page> audit_log(Context& ctx, const Args&) {
  auto entries = co_await ops::Audit::recent(ctx.tx, 15);
  Page page{t(ctx, "admin.audit.title") + "\n", {{back_to(ctx, {"home"})}}};
  for (const auto& e : entries)
    page.text += "\n" + t(ctx, "admin.audit.line",
                          {{"at", e.created_at},
                           {"action", e.action},
                           {"actor", std::to_string(e.actor_id)},
                           {"via", e.via},
                           {"target", e.target_user_id ? " → " + std::to_string(*e.target_user_id) : ""},
                           {"details", html_escape(e.details.dump())}});
  if (entries.empty()) page.text += "\n" + t(ctx, "admin.audit.empty");
  co_return page;
}

}  // namespace vpnbot::bot::admin
