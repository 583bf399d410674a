// "My configs": the user's WireGuard configs and Xray accounts with their buttons, and the questions asked before
// new keys, a new link or a removal.
#include "shop/configs.hpp"
#include "bot/screens/screen.hpp"

namespace vpnbot::bot::screens {

using telegram::json;

namespace {

// An Xray account's line and its buttons (send again, new link, remove).
void add_panel_account(const Context& ctx, const remnawave::UserAccount& a, std::string& text,
                       std::vector<std::vector<json>>& rows) {
  std::string id = std::to_string(a.id);
  std::string usage = a.subscription_url ? ctx.bot.traffic_text(ctx.user.language, a.used_bytes, a.limit_bytes)
                                         : t(ctx, "xray.pending");
  text += "\n" + t(ctx, "xray.line",
                   {{"flag", flag(a.country_code)},
                    {"location", html_escape(a.location)},
                    {"protocol", html_escape(a.protocol)},
                    {"id", id},
                    {"state", t(ctx, "config.state." + a.state)},
                    {"traffic", usage}});
  rows.push_back(
      {button(t(ctx, "xray.get", {{"flag", flag(a.country_code)}, {"id", id}}), route::panel_account("get", a.id)),
       button(t(ctx, "xray.revoke"), route::panel_account("rv", a.id))});
  rows.push_back({button(t(ctx, "xray.remove", {{"id", id}}), route::panel_account("rm", a.id))});
}

}  // namespace

awaitable<std::optional<View>> configs(Context& ctx, const Args&) {
  auto mine = co_await shop::my_configs(ctx.tx, ctx.user.id);
  if (mine.wireguard.empty() && mine.panel.empty()) co_return View{t(ctx, "screen.configs.none"), back_keyboard(ctx)};
  const auto& clock = ctx.bot.clock();
  View view{t(ctx, "screen.configs.title"), nullptr};
  std::vector<std::vector<json>> rows;
  for (const auto& c : mine.wireguard) {
    std::string seen = c.last_handshake ? t(ctx, "config.handshake.at", {{"time", clock.show(*c.last_handshake)}})
                                        : t(ctx, "config.handshake.never");
    view.text += "\n" + t(ctx, "config.line",
                          {{"flag", flag(c.country_code)},
                           {"location", html_escape(c.location)},
                           {"id", std::to_string(c.id)},
                           {"state", t(ctx, "config.state." + c.state)},
                           {"seen", seen}});
    rows.push_back({button(t(ctx, "config.get", {{"flag", flag(c.country_code)}, {"id", std::to_string(c.id)}}),
                           route::config("get", c.id)),
                    button(t(ctx, "config.rekey"), route::config("rk", c.id))});
  }
  for (const auto& account : mine.panel) add_panel_account(ctx, account, view.text, rows);
  rows.push_back({back_button(ctx)});
  view.markup = keyboard(std::move(rows));
  co_return view;
}

// "rekey:<config id>": new keys replace the config's, so the old file stops working; asked first.
awaitable<std::optional<View>> rekey(Context& ctx, const Args& args) {
  auto id = args.size() == 2 ? parse_id(args[1]) : std::nullopt;
  if (!id) co_return std::nullopt;
  co_return View{
      t(ctx, "config.rekey.confirm", {{"id", std::to_string(*id)}}),
      keyboard({{button(t(ctx, "config.rekey.yes"), route::config("rky", *id))}, {back_button(ctx, "cfg")}})};
}

// "xrconfirm:rv|rm:<account id>": a new link (the old one stops working) or a removal; asked first.
awaitable<std::optional<View>> panel_confirm(Context& ctx, const Args& args) {
  auto id = args.size() == 3 ? parse_id(args[2]) : std::nullopt;
  if (!id || (args[1] != "rv" && args[1] != "rm")) co_return std::nullopt;
  std::string key = args[1] == "rv" ? "xray.revoke" : "xray.remove";
  co_return View{
      t(ctx, key + ".confirm", {{"id", std::to_string(*id)}}),
      keyboard({{button(t(ctx, key + ".yes"), route::panel_account(args[1] + "y", *id))}, {back_button(ctx, "cfg")}})};
}

}  // namespace vpnbot::bot::screens
