// Traffic packages: the list with on/off switches (new packages come from the CLI).
#include "billing/money.hpp"
#include "billing/traffic_packages.hpp"
#include "bot/admin/page.hpp"

namespace vpnbot::bot::admin {

awaitable<Page> traffic_packages(Context& ctx, const Args&) {
  auto packages = co_await billing::TrafficPackages::list(ctx.tx, false);
  Page page{t(ctx, "admin.traffic.title") + "\n", {}};
  for (const auto& p : packages) {
    std::string id = std::to_string(p.id), gb = std::to_string(p.gb);
    page.text += "\n" + t(ctx, "admin.traffic.line",
                          {{"id", id},
                           {"gb", gb},
                           {"rub", billing::format_rub(p.price_rub)},
                           {"stars", std::to_string(p.price_stars)},
                           {"off", off_mark(ctx, p.active)}});
    std::string package = t(ctx, "admin.traffic.package", {{"id", id}, {"gb", gb}});
    page.rows.push_back({route_button(toggle(ctx, p.active, package), {"ta", id, p.active ? "0" : "1"})});
  }
  if (packages.empty()) page.text += "\n" + t(ctx, "admin.none_yet");
  page.rows.push_back({back_to(ctx, {"home"})});
  co_return page;
}

awaitable<Outcome> set_package_active(Context& ctx, const Args& args) {
  auto id = to_int(args[1]);
  if (!id || (args[2] != "0" && args[2] != "1")) throw std::invalid_argument(t(ctx, "admin.traffic.bad_toggle"));
  ops::Actor actor = actor_of(ctx);
  if (!co_await ops::Operations::set_traffic_package_active(ctx.tx, actor, *id, args[2] == "1"))
    throw std::invalid_argument(t(ctx, "admin.traffic.none", {{"id", args[1]}}));
  co_return Outcome{"", {"trf"}};
}

}  // namespace vpnbot::bot::admin
