// The subscription's buttons: the trial, auto-renewal on or off, forgetting the saved card, a new config.
#include "billing/saved_methods.hpp"
#include "billing/store.hpp"
#include "bot/actions/action.hpp"
#include "core/log.hpp"
#include "shop/configs.hpp"

namespace vpnbot::bot::actions {

awaitable<Outcome> start_trial(Context& ctx, const Args&) {
  const auto& billing = ctx.bot.options().billing;
  shop::TrialOptions trial{billing.trial_days, billing.trial_device_limit};
  auto sub = co_await shop::start_trial(ctx.tx, trial, ctx.user.id);
  if (!sub) co_return answer(t(ctx, "trial.unavailable"), "sub");
  std::string granted = t(ctx, "trial.granted", {{"expires", ctx.bot.clock().show(sub->expires_at)}});
  telegram::json none;
  co_await reply(ctx, std::move(granted), std::move(none));
  co_return answer("", "sub");
}

awaitable<Outcome> set_auto_renew(Context& ctx, const Args& args) {
  if (args.size() != 1) co_return answer(t(ctx, "error.menu_expired"), "menu");
  co_await billing::Subscriptions::set_auto_renew(ctx.tx, ctx.user.id, args[0] == "on");
  co_return answer("", "sub");
}

awaitable<Outcome> remove_card(Context& ctx, const Args&) {
  bool removed = co_await billing::SavedMethods::forget(ctx.tx, ctx.user.id);
  if (removed) log::info("bot", "saved card removed by the user", {{"user_id", ctx.user.id}});
  co_return answer(t(ctx, removed ? "subscription.card_removed" : "subscription.no_card"), "sub");
}

// "auto", a WireGuard node's id, or "x<id>" for an Xray location.
awaitable<Outcome> new_config(Context& ctx, const Args& args) {
  if (args.size() != 1) co_return answer(t(ctx, "error.menu_expired"), "menu");
  shop::ConfigRequest request{std::nullopt, std::nullopt, "update:" + std::to_string(ctx.update_id)};
  bool xray = args[0].size() > 1 && args[0][0] == 'x';
  if (xray) {
    request.panel_node = parse_id(args[0].substr(1));
    if (!request.panel_node) co_return answer(t(ctx, "error.menu_expired"), "sub");
  } else {
    request.wireguard_node = parse_id(args[0]);
  }
  auto made = co_await shop::request_config(ctx.tx, ctx.bot.options().budgets, ctx.user.id, request);
  using O = shop::ConfigOutcome;
  std::string notice;
  switch (made.outcome) {
    case O::creating:
      notice = t(ctx, "config.creating");
      break;
    case O::over_budget:
      notice = over_budget_notice(ctx, budgets::Kind::config_requests, made.retry_after_s, made.tell);
      break;
    case O::need_subscription:
      notice = t(ctx, "config.need_subscription");
      break;
    case O::at_device_limit:
      notice = t(ctx, "config.limit", {{"limit", std::to_string(made.device_limit)}});
      break;
    case O::location_refused:
      notice = t(ctx, "locations.none");
      break;
    case O::traffic_used_up:
      notice = t(ctx, "traffic.blocked_line");
      break;
  }
  co_return answer(std::move(notice), "sub");
}

}  // namespace vpnbot::bot::actions
