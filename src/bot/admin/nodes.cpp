// VPN nodes: each node's state and pool, and the switches to drain or disable it.
#include "bot/admin/page.hpp"
#include "ops/stats.hpp"

namespace vpnbot::bot::admin {

awaitable<Page> nodes(Context& ctx, const Args&) {
  auto stats = co_await ops::collect_stats(ctx.tx);
  Page page{t(ctx, "admin.nodes.title") + "\n", {}};
  for (const auto& n : stats.nodes) {
    page.text += "\n" + t(ctx, "admin.nodes.line",
                          {{"name", html_escape(n.name)},
                           {"state", n.state},
                           {"active", std::to_string(n.active_peers)},
                           {"used", std::to_string(n.pool_size - n.pool_free)},
                           {"size", std::to_string(n.pool_size)}});
    std::vector<json> row;
    for (const char* state : {"enabled", "draining", "disabled"})
      if (n.state != state)
        row.push_back(
            route_button(t(ctx, "admin.nodes.set_state", {{"state", state}, {"name", n.name}}), {"ns", n.name, state}));
    page.rows.push_back(std::move(row));
  }
  if (stats.nodes.empty()) page.text += "\n" + t(ctx, "admin.nodes.none");
  page.rows.push_back({back_to(ctx, {"home"})});
  co_return page;
}

awaitable<Outcome> set_node_state(Context& ctx, const Args& args) {
  ops::Actor actor = actor_of(ctx);
  co_await ops::Operations::set_node_state(ctx.tx, actor, args[1], args[2]);
  co_return Outcome{"", {"nodes"}};
}

}  // namespace vpnbot::bot::admin
