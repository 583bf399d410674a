// "My subscription": expiry, devices, traffic, auto-renewal and the saved card; and the locations for a new config.
#include "bot/screens/screen.hpp"
#include "shop/account.hpp"
#include "vpn/store.hpp"

namespace vpnbot::bot::screens {

using telegram::json;

awaitable<std::optional<View>> subscription(Context& ctx, const Args&) {
  const auto& bot = ctx.bot;
  const auto& lang = ctx.user.language;
  auto mine = co_await shop::my_subscription(ctx.tx, bot.options().save_cards, ctx.user.id);
  if (!mine)
    co_return View{t(ctx, "screen.subscription.none"),
                   keyboard({{button(t(ctx, "menu.buy"), route::screen("buy"))}, {back_button(ctx)}})};
  const auto& sub = mine->subscription;
  std::string left = bot.catalog().plural(lang, "plural.days", std::max<int64_t>(1, sub.seconds_left / 86400));
  std::string status =
      sub.active ? t(ctx, "subscription.active", {{"expires", bot.clock().show(sub.expires_at)}, {"left", left}})
                 : t(ctx, "subscription.expired", {{"expires", bot.clock().show(sub.expires_at)}});
  View view;
  view.text = t(ctx, "screen.subscription",
                {{"status", status},
                 {"used", std::to_string(mine->configs_live)},
                 {"limit", std::to_string(sub.device_limit)},
                 {"auto", t(ctx, sub.auto_renew ? "subscription.auto_on" : "subscription.auto_off")}});
  if (mine->saved_card)
    view.text += "\n" + t(ctx, "subscription.saved_card", {{"card", html_escape(mine->saved_card->title)}});
  // The WireGuard quota of this period (Xray locations count theirs in the panel, below).
  if (const auto& traffic = mine->wireguard_traffic)
    view.text += "\n" + t(ctx, "subscription.wireguard_traffic",
                          {{"traffic", bot.traffic_text(lang, traffic->used_bytes, traffic->limit_bytes.value_or(0))}});
  if (mine->traffic_blocked) view.text += "\n" + t(ctx, "traffic.blocked_line");
  for (const auto& a : mine->panel_traffic)
    view.text += "\n" + t(ctx, "subscription.traffic_line",
                          {{"flag", flag(a.country_code)},
                           {"location", html_escape(a.location)},
                           {"traffic", bot.traffic_text(lang, a.used_bytes, a.limit_bytes)}});
  std::vector<std::vector<json>> rows;
  rows.push_back({button(t(ctx, "subscription.renew"), route::screen("buy"))});
  if (mine->can_top_up) rows.push_back({button(t(ctx, "traffic.buy_button"), route::screen("trf"))});
  if (mine->can_add_config) rows.push_back({button(t(ctx, "subscription.new_config"), route::screen("newcfg"))});
  rows.push_back({button(t(ctx, "subscription.toggle_auto",
                           {{"state", t(ctx, sub.auto_renew ? "subscription.auto_off" : "subscription.auto_on")}}),
                         route::auto_renew(!sub.auto_renew))});
  if (mine->saved_card) rows.push_back({button(t(ctx, "subscription.remove_card"), route::remove_card())});
  rows.push_back({back_button(ctx)});
  view.markup = keyboard(std::move(rows));
  co_return view;
}

// The locations a new config can be made on (WireGuard nodes and Xray locations), or "auto".
awaitable<std::optional<View>> locations(Context& ctx, const Args&) {
  auto locations = co_await vpn::VpnStore::locations(ctx.tx);
  if (locations.empty()) co_return View{t(ctx, "locations.none"), back_keyboard(ctx, "sub")};
  std::vector<std::vector<json>> rows;
  rows.push_back({button(t(ctx, "locations.auto"), route::new_config("auto"))});
  for (const auto& l : locations) {
    // Xray locations are "x<id>": their ids are the panel nodes', not the WireGuard nodes'.
    std::string target = (l.backend == "wireguard" ? "" : "x") + std::to_string(l.node_id);
    rows.push_back({button(t(ctx, "locations.protocol",
                             {{"flag", flag(l.country_code)}, {"location", l.location}, {"protocol", l.protocol}}),
                           route::new_config(target))});
  }
  rows.push_back({back_button(ctx, "sub")});
  co_return View{t(ctx, "screen.locations"), keyboard(std::move(rows))};
}

}  // namespace vpnbot::bot::screens
