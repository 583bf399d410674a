// A user's configs: a WireGuard config sent again or given new keys (asked first), an Xray account's link sent again,
// replaced or the account removed (asked first). Only the user's own: the shop core finds nothing for another id.
#include <map>

#include "bot/actions/action.hpp"
#include "shop/configs.hpp"

namespace vpnbot::bot::actions {

namespace {

// The answer for a change to one of the user's configs that the shop core refused (or "sending").
std::string change_notice(const Context& ctx, const shop::OwnedConfigChange& change) {
  switch (change.outcome) {
    case shop::OwnedConfigOutcome::done:
      return t(ctx, "config.sending");
    case shop::OwnedConfigOutcome::not_ready:
      return t(ctx, "xray.not_ready");
    case shop::OwnedConfigOutcome::over_budget:
      return over_budget_notice(ctx, budgets::Kind::config_requests, change.retry_after_s, change.tell);
    case shop::OwnedConfigOutcome::not_found:
      break;
  }
  return t(ctx, "error.menu_expired");
}

}  // namespace

// get: send the config again; rk: ask before new keys; rky: new keys, then send the new config.
awaitable<Outcome> wireguard_config(Context& ctx, const Args& args) {
  if (args.size() != 2) co_return not_understood();
  const auto& verb = args[0];
  auto peer_id = parse_id(args[1]);
  if (!peer_id || (verb != "get" && verb != "rk" && verb != "rky"))
    co_return answer(t(ctx, "error.menu_expired"), "cfg");
  if (verb == "rk") co_return answer("", "rekey:" + args[1]);
  auto action = verb == "rky" ? shop::ConfigAction::new_keys : shop::ConfigAction::send_again;
  const auto& options = ctx.bot.options();
  auto change = co_await shop::change_wireguard_config(ctx.tx, options.budgets, *options.secret_box, ctx.user.id,
                                                       *peer_id, action);
  Outcome outcome = answer(change_notice(ctx, change), "cfg");
  if (change.outcome == shop::OwnedConfigOutcome::done) outcome.deliver = *peer_id;
  co_return outcome;
}

// get: the link again; rv/rm: ask first; rvy: a new link (sent when the panel made it); rmy: remove.
awaitable<Outcome> panel_account(Context& ctx, const Args& args) {
  auto id = args.size() == 2 ? parse_id(args[1]) : std::nullopt;
  const std::string verb = args.empty() ? "" : args[0];
  if (!id) co_return answer(t(ctx, "error.menu_expired"), "cfg");
  if (verb == "rv" || verb == "rm") co_return answer("", "xrconfirm:" + verb + ":" + args[1]);
  static const std::map<std::string, shop::ConfigAction> actions{{"get", shop::ConfigAction::send_again},
                                                                 {"rvy", shop::ConfigAction::new_link},
                                                                 {"rmy", shop::ConfigAction::remove}};
  auto action = actions.find(verb);
  if (action == actions.end()) co_return answer(t(ctx, "error.menu_expired"), "cfg");
  auto change =
      co_await shop::change_panel_account(ctx.tx, ctx.bot.options().budgets, ctx.user.id, *id, action->second);
  if (change.outcome != shop::OwnedConfigOutcome::done) co_return answer(change_notice(ctx, change), "cfg");
  switch (action->second) {
    case shop::ConfigAction::send_again:
      co_await ctx.bot.deliver_panel_link_to(ctx.tx, ctx.user.id, *id);
      co_return answer(t(ctx, "config.sending"), "cfg");
    case shop::ConfigAction::new_link:
      co_return answer(t(ctx, "xray.revoking"), "cfg");
    default:
      co_return answer(t(ctx, "xray.removed"), "cfg");
  }
}

}  // namespace vpnbot::bot::actions
