// Buying a plan: the catalog ("buy"), a plan with its price and payment methods ("plan:<id>[:g]"), the confirmation
// of one method ("confirm:<id>:<method>[:s][:g]"), and the gifts the user bought ("gifts").
#include "billing/gifts.hpp"
#include "billing/ledger.hpp"
#include "billing/money.hpp"
#include "billing/orders.hpp"
#include "bot/screens/screen.hpp"
#include "shop/account.hpp"

namespace vpnbot::bot::screens {

using telegram::json;

namespace {

// The provider a button's method code stands for, when this bot offers it.
std::optional<std::string> offered_provider(const std::string& code, const std::vector<std::string>& offered) {
  auto provider = route::provider_of(code);
  if (!provider || std::find(offered.begin(), offered.end(), *provider) == offered.end()) return std::nullopt;
  return provider;
}

std::string plan_traffic(const Context& ctx, const billing::Plan& plan) {
  return plan.traffic_gb ? t(ctx, "buy.traffic", {{"gb", std::to_string(*plan.traffic_gb)}})
                         : t(ctx, "buy.traffic_unlimited");
}

std::string plural(const Context& ctx, std::string_view key, int64_t n) {
  return ctx.bot.catalog().plural(ctx.user.language, key, n);
}

}  // namespace

awaitable<std::optional<View>> buy(Context& ctx, const Args&) {
  const auto& billing_options = ctx.bot.options().billing;
  const auto& lang = ctx.user.language;
  shop::TrialOptions trial{billing_options.trial_days, billing_options.trial_device_limit};
  auto catalog = co_await shop::plan_catalog(ctx.tx, trial, ctx.user.id);
  View view{t(ctx, "buy.title"), nullptr};
  std::vector<std::vector<json>> rows;
  for (const auto& plan : catalog.plans) {
    std::string price = billing::format_rub(plan.price_rub);
    view.text += "\n" + t(ctx, "buy.plan_line",
                          {{"title", html_escape(plan.title_for(lang))},
                           {"price", price},
                           {"stars", std::to_string(plan.price_stars)},
                           {"devices", plural(ctx, "plural.devices", plan.device_limit)},
                           {"traffic", plan_traffic(ctx, plan)}});
    rows.push_back(
        {button(t(ctx, "buy.plan_button", {{"title", plan.title_for(lang)}, {"price", price}}), route::plan(plan.id))});
  }
  if (catalog.trial_offered)
    rows.push_back(
        {button(t(ctx, "buy.trial_button", {{"days", plural(ctx, "plural.days", trial.days)}}), route::trial())});
  if (catalog.has_gifts) rows.push_back({button(t(ctx, "gift.mine_button"), route::screen("gifts"))});
  rows.push_back({back_button(ctx)});
  view.markup = keyboard(std::move(rows));
  co_return view;
}

awaitable<std::optional<View>> gifts(Context& ctx, const Args&) {
  auto gifts = co_await billing::Gifts::list(ctx.tx, ctx.user.id, std::nullopt, INT64_MAX, 10);
  View view{t(ctx, "gift.mine_title"), back_keyboard(ctx, "buy")};
  for (const auto& gift : gifts) {
    auto plan = co_await billing::Plans::get(ctx.tx, gift.plan_id);
    view.text += "\n" + t(ctx, "gift.mine_line",
                          {{"title", plan ? html_escape(plan->title_for(ctx.user.language)) : ""},
                           {"code", gift.code},
                           {"state", t(ctx, "gift.state_" + gift.state)}});
  }
  co_return view;
}

awaitable<std::optional<View>> plan(Context& ctx, const Args& args) {
  const auto& options = ctx.bot.options();
  const auto& lang = ctx.user.language;
  bool choosing = args[0] == "plan";
  auto plan_id = args.size() > 1 ? parse_id(args[1]) : std::nullopt;
  // A gift: the plan's days for someone else, paid now and redeemed later by whoever gets the code first.
  size_t mode_arg = choosing ? 2 : 3;
  bool gift = args.size() > mode_arg && args[mode_arg] == "g";
  std::optional<billing::Quote> quote;
  if (plan_id) {
    try {
      quote = co_await billing::Orders::quote(ctx.tx, ctx.user.id, *plan_id, options.billing, gift);
    } catch (const billing::PlanUnavailable&) {
    }
  }
  if (!quote) co_return View{t(ctx, "checkout.unavailable"), back_keyboard(ctx, "buy")};
  const auto& plan = quote->plan;
  std::string promo_line, bonus_line;
  // The promo group's personal discount and the code's part of the rest (docs/ARCHITECTURE.md, "Prices").
  if (quote->group && quote->price.group_discount_rub > 0)
    promo_line = t(ctx, "checkout.group_line",
                   {{"percent", std::to_string(quote->group->plan_percent)},
                    {"discount", billing::format_rub(quote->price.group_discount_rub)}});
  int64_t code_discount = quote->price.discount_rub - quote->price.group_discount_rub;
  if (quote->promo && code_discount > 0)
    promo_line +=
        t(ctx, "checkout.promo_line", {{"code", quote->promo->code}, {"discount", billing::format_rub(code_discount)}});
  if (quote->bonus_days > 0)
    bonus_line = t(ctx, "checkout.bonus_line", {{"days", plural(ctx, "plural.days", quote->bonus_days)}});
  std::string days = plural(ctx, "plural.days", plan.days);
  std::string devices = plural(ctx, "plural.devices", plan.device_limit);
  std::string gift_note = gift ? t(ctx, "gift.checkout_note") + "\n\n" : "";
  std::vector<std::vector<json>> rows;
  if (choosing) {
    auto totals = co_await billing::Ledger::totals(ctx.tx, ctx.user.id);
    for (const auto& method : options.payment_methods) {
      std::string label = method == "balance"
                              ? t(ctx, "method.balance", {{"balance", billing::format_rub(totals.balance)}})
                              : t(ctx, "method." + method);
      rows.push_back({button(label, route::payment_method(plan.id, method, false, gift))});
    }
    if (!quote->promo) rows.push_back({button(t(ctx, "menu.promo"), route::screen("promo"))});
    if (gift)
      rows.push_back({button(t(ctx, "gift.for_myself_button"), route::plan(plan.id))});
    else
      rows.push_back({button(t(ctx, "gift.buy_button"), route::plan(plan.id, true))});
    rows.push_back({back_button(ctx, "buy")});
    co_return View{gift_note + t(ctx, "checkout.plan",
                                 {{"title", html_escape(plan.title_for(lang))},
                                  {"days", days},
                                  {"devices", devices},
                                  {"traffic", plan_traffic(ctx, plan)},
                                  {"price", billing::format_rub(quote->price.rub)},
                                  {"stars", std::to_string(quote->price.stars)},
                                  {"promo", promo_line},
                                  {"bonus", bonus_line}}),
                   keyboard(std::move(rows))};
  }
  auto provider = offered_provider(args.size() > 2 ? args[2] : "", options.payment_methods);
  if (!provider) co_return View{t(ctx, "error.menu_expired"), back_keyboard(ctx, "buy")};
  bool stars = *provider == "stars";
  std::string amount = stars ? std::to_string(quote->price.stars) + " ⭐" : billing::format_rub(quote->price.rub);
  std::string method_label;
  if (*provider == "balance") {
    auto totals = co_await billing::Ledger::totals(ctx.tx, ctx.user.id);
    method_label = t(ctx, "method.balance", {{"balance", billing::format_rub(totals.balance)}});
  } else {
    method_label = t(ctx, "method." + *provider);
  }
  // The card can be saved for auto-renewal only with the user's explicit consent: a toggle, off by default.
  bool offer_saving = shop::may_save_card(ctx.bot.selling(), *provider, gift);
  bool save = offer_saving && args.size() > 3 && args[3] == "s";
  std::string text = t(ctx, "checkout.confirm",
                       {{"title", html_escape(plan.title_for(lang))},
                        {"days", plural(ctx, "plural.days", plan.days + quote->bonus_days)},
                        {"devices", devices},
                        {"method", method_label},
                        {"amount", amount},
                        {"promo", promo_line}});
  if (save) text += "\n" + t(ctx, "checkout.save_card_terms", {{"amount", amount}, {"days", days}});
  rows.push_back(
      {button(t(ctx, "checkout.pay_button", {{"amount", amount}}), route::pay(plan.id, *provider, save, gift))});
  if (offer_saving)
    rows.push_back({button(t(ctx, save ? "checkout.save_card_on" : "checkout.save_card_off"),
                           route::payment_method(plan.id, *provider, !save))});
  rows.push_back({button(t(ctx, "common.back"), route::plan(plan.id, gift))});
  co_return View{gift_note + text, keyboard(std::move(rows))};
}

}  // namespace vpnbot::bot::screens
