// The shop part of the bot: plans, checkout, Telegram Stars payments, subscription, balance, referral and promo
// screens. Every effect happens inside the update's transaction; provider calls happen later in jobs.
#include <charconv>

#include "billing/gifts.hpp"
#include "billing/ledger.hpp"
#include "billing/referral.hpp"
#include "billing/saved_methods.hpp"
#include "billing/traffic_packages.hpp"
#include "bot/bot.hpp"
#include "bot/callback.hpp"
#include "bot/context.hpp"
#include "bot/reminders.hpp"
#include "bot/routes.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "jobs/queue.hpp"
#include "shop/account.hpp"
#include "shop/checkout.hpp"
#include "shop/configs.hpp"
#include "vpn/jobs.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/remnawave/jobs.hpp"
#include "vpn/store.hpp"
#include "vpn/traffic.hpp"

namespace vpnbot::bot {

using telegram::json;
using telegram::OutMessage;

namespace {

// The provider a button's method code stands for, when this bot offers it.
std::optional<std::string> offered_provider(const std::string& code, const std::vector<std::string>& offered) {
  auto provider = route::provider_of(code);
  if (!provider || std::find(offered.begin(), offered.end(), *provider) == offered.end()) return std::nullopt;
  return provider;
}

// "order:42" (the invoice payload of a Stars order)
std::optional<int64_t> order_from_payload(const std::string& payload) {
  if (payload.rfind("order:", 0) != 0) return std::nullopt;
  return parse_id(payload.substr(6));
}

// What a pre_checkout_query and a successful_payment both carry about the invoice, as Telegram sends it (the amount
// -1 when missing: never equal to an order's).
struct StarsInvoice {
  std::string payload;
  std::optional<int64_t> order_id;
  std::string currency;
  int64_t total = -1;
};

StarsInvoice stars_invoice(const json& update_part) {
  StarsInvoice invoice;
  invoice.payload = update_part.value("invoice_payload", "");
  invoice.order_id = order_from_payload(invoice.payload);
  invoice.currency = update_part.value("currency", "");
  auto total = update_part.find("total_amount");
  if (total != update_part.end() && total->is_number_integer()) invoice.total = total->get<int64_t>();
  return invoice;
}

}  // namespace

awaitable<void> Bot::send_to_user(db::Transaction& tx, int64_t user_id, std::string text, json markup,
                                  std::string unique_key) const {
  OutMessage message;
  message.chat_id = user_id;
  message.priority = telegram::kPriorityNotice;
  message.payload = {{"text", std::move(text)}, {"parse_mode", "HTML"}};
  if (!markup.is_null()) message.payload["reply_markup"] = std::move(markup);
  if (!unique_key.empty()) message.unique_key = std::move(unique_key);
  co_await telegram::Outbox::enqueue(tx, message);
}

awaitable<void> Bot::show_shop_screen(Context& ctx, const std::vector<std::string>& args, std::string& text,
                                      json& markup) {
  const std::string& screen = args[0];
  const auto& lang = ctx.user.language;
  json back_to_menu = button(t(ctx, "common.back"), route::screen("menu"));
  auto plan_traffic = [this](const std::string& language, const billing::Plan& plan) {
    return plan.traffic_gb ? catalog_.text(language, "buy.traffic", {{"gb", std::to_string(*plan.traffic_gb)}})
                           : catalog_.text(language, "buy.traffic_unlimited");
  };
  if (screen == "buy") {
    shop::TrialOptions trial{options_.billing.trial_days, options_.billing.trial_device_limit};
    auto catalog = co_await shop::plan_catalog(ctx.tx, trial, ctx.user.id);
    text = t(ctx, "buy.title");
    std::vector<std::vector<json>> rows;
    for (const auto& plan : catalog.plans) {
      text += "\n" + t(ctx, "buy.plan_line",
                       {{"title", html_escape(plan.title_for(lang))},
                        {"price", billing::format_rub(plan.price_rub)},
                        {"stars", std::to_string(plan.price_stars)},
                        {"devices", catalog_.plural(lang, "plural.devices", plan.device_limit)},
                        {"traffic", plan_traffic(lang, plan)}});
      rows.push_back({button(
          t(ctx, "buy.plan_button", {{"title", plan.title_for(lang)}, {"price", billing::format_rub(plan.price_rub)}}),
          route::plan(plan.id))});
    }
    if (catalog.trial_offered)
      rows.push_back({button(
          t(ctx, "buy.trial_button", {{"days", catalog_.plural(lang, "plural.days", options_.billing.trial_days)}}),
          route::trial())});
    if (catalog.has_gifts) rows.push_back({button(t(ctx, "gift.mine_button"), route::screen("gifts"))});
    rows.push_back({back_to_menu});
    markup = keyboard(std::move(rows));
  } else if (screen == "trf" || screen == "tpk") {
    co_await show_traffic_screen(ctx, args, text, markup);
  } else if (screen == "gifts") {
    auto gifts = co_await billing::Gifts::list(ctx.tx, ctx.user.id, std::nullopt, INT64_MAX, 10);
    text = t(ctx, "gift.mine_title");
    for (const auto& gift : gifts) {
      auto plan = co_await billing::Plans::get(ctx.tx, gift.plan_id);
      text += "\n" + t(ctx, "gift.mine_line",
                       {{"title", plan ? html_escape(plan->title_for(lang)) : ""},
                        {"code", gift.code},
                        {"state", t(ctx, "gift.state_" + gift.state)}});
    }
    markup = keyboard({{button(t(ctx, "common.back"), route::screen("buy"))}});
  } else if (screen == "plan" || screen == "confirm") {
    auto plan_id = args.size() > 1 ? parse_id(args[1]) : std::nullopt;
    // A gift: the plan's days for someone else, paid now and redeemed later by whoever gets the code first.
    size_t mode_arg = screen == "plan" ? 2 : 3;
    bool gift = args.size() > mode_arg && args[mode_arg] == "g";
    std::optional<billing::Quote> quote;
    if (plan_id) {
      try {
        quote = co_await billing::Orders::quote(ctx.tx, ctx.user.id, *plan_id, options_.billing, gift);
      } catch (const billing::PlanUnavailable&) {
      }
    }
    if (!quote) {
      text = t(ctx, "checkout.unavailable");
      markup = keyboard({{button(t(ctx, "common.back"), route::screen("buy"))}});
      co_return;
    }
    const auto& plan = quote->plan;
    std::string promo_line, bonus_line;
    // The promo group's personal discount and the code's part of the rest (docs/ARCHITECTURE.md, "Prices").
    if (quote->group && quote->price.group_discount_rub > 0)
      promo_line = t(ctx, "checkout.group_line",
                     {{"percent", std::to_string(quote->group->plan_percent)},
                      {"discount", billing::format_rub(quote->price.group_discount_rub)}});
    int64_t code_discount = quote->price.discount_rub - quote->price.group_discount_rub;
    if (quote->promo && code_discount > 0)
      promo_line += t(ctx, "checkout.promo_line",
                      {{"code", quote->promo->code}, {"discount", billing::format_rub(code_discount)}});
    if (quote->bonus_days > 0)
      bonus_line = t(ctx, "checkout.bonus_line", {{"days", catalog_.plural(lang, "plural.days", quote->bonus_days)}});
    std::string days = catalog_.plural(lang, "plural.days", plan.days);
    std::string devices = catalog_.plural(lang, "plural.devices", plan.device_limit);
    if (screen == "plan") {
      text = t(ctx, "checkout.plan",
               {{"title", html_escape(plan.title_for(lang))},
                {"days", days},
                {"devices", devices},
                {"traffic", plan_traffic(lang, plan)},
                {"price", billing::format_rub(quote->price.rub)},
                {"stars", std::to_string(quote->price.stars)},
                {"promo", promo_line},
                {"bonus", bonus_line}});
      if (gift) text = t(ctx, "gift.checkout_note") + "\n\n" + text;
      auto totals = co_await billing::Ledger::totals(ctx.tx, ctx.user.id);
      std::vector<std::vector<json>> rows;
      for (const auto& method : options_.payment_methods) {
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
      rows.push_back({button(t(ctx, "common.back"), route::screen("buy"))});
      markup = keyboard(std::move(rows));
    } else {
      std::string code = args.size() > 2 ? args[2] : "";
      auto provider = offered_provider(code, options_.payment_methods);
      if (!provider) {
        text = t(ctx, "error.menu_expired");
        markup = keyboard({{button(t(ctx, "common.back"), route::screen("buy"))}});
        co_return;
      }
      bool stars = *provider == "stars";
      std::string amount = stars ? std::to_string(quote->price.stars) + " ⭐" : billing::format_rub(quote->price.rub);
      std::string method_label = *provider == "balance" ? t(ctx, "ledger.purchase") : t(ctx, "method." + *provider);
      if (*provider == "balance") {
        auto totals = co_await billing::Ledger::totals(ctx.tx, ctx.user.id);
        method_label = t(ctx, "method.balance", {{"balance", billing::format_rub(totals.balance)}});
      }
      std::string all_days = catalog_.plural(lang, "plural.days", plan.days + quote->bonus_days);
      // The card can be saved for auto-renewal only with the user's explicit consent: a toggle, off by default.
      bool offer_saving = options_.save_cards && *provider == "yookassa" && !gift;
      bool save = offer_saving && args.size() > 3 && args[3] == "s";
      text = t(ctx, "checkout.confirm",
               {{"title", html_escape(plan.title_for(lang))},
                {"days", all_days},
                {"devices", devices},
                {"method", method_label},
                {"amount", amount},
                {"promo", promo_line}});
      if (save) text += "\n" + t(ctx, "checkout.save_card_terms", {{"amount", amount}, {"days", days}});
      if (gift) text = t(ctx, "gift.checkout_note") + "\n\n" + text;
      std::vector<std::vector<json>> rows;
      rows.push_back(
          {button(t(ctx, "checkout.pay_button", {{"amount", amount}}), route::pay(plan.id, *provider, save, gift))});
      if (offer_saving) {
        rows.push_back({button(t(ctx, save ? "checkout.save_card_on" : "checkout.save_card_off"),
                               route::payment_method(plan.id, *provider, !save))});
      }
      rows.push_back({button(t(ctx, "common.back"), route::plan(plan.id, gift))});
      markup = keyboard(std::move(rows));
    }
  } else if (screen == "sub") {
    auto mine = co_await shop::my_subscription(ctx.tx, options_.save_cards, ctx.user.id);
    if (!mine) {
      text = t(ctx, "screen.subscription.none");
      markup = keyboard({{button(t(ctx, "menu.buy"), route::screen("buy"))}, {back_to_menu}});
      co_return;
    }
    const auto& sub = mine->subscription;
    std::string status =
        sub.active ? t(ctx, "subscription.active",
                       {{"expires", clock_.show(sub.expires_at)},
                        {"left", catalog_.plural(lang, "plural.days", std::max<int64_t>(1, sub.seconds_left / 86400))}})
                   : t(ctx, "subscription.expired", {{"expires", clock_.show(sub.expires_at)}});
    std::string auto_state = t(ctx, sub.auto_renew ? "subscription.auto_on" : "subscription.auto_off");
    text = t(ctx, "screen.subscription",
             {{"status", status},
              {"used", std::to_string(mine->configs_live)},
              {"limit", std::to_string(sub.device_limit)},
              {"auto", auto_state}});
    if (mine->saved_card)
      text += "\n" + t(ctx, "subscription.saved_card", {{"card", html_escape(mine->saved_card->title)}});
    // The WireGuard quota of this period (Xray locations count theirs in the panel, below).
    if (const auto& traffic = mine->wireguard_traffic)
      text += "\n" + t(ctx, "subscription.wireguard_traffic",
                       {{"traffic", traffic_text(lang, traffic->used_bytes, traffic->limit_bytes.value_or(0))}});
    if (mine->traffic_blocked) text += "\n" + t(ctx, "traffic.blocked_line");
    for (const auto& a : mine->panel_traffic)
      text += "\n" + t(ctx, "subscription.traffic_line",
                       {{"flag", flag(a.country_code)},
                        {"location", html_escape(a.location)},
                        {"traffic", traffic_text(lang, a.used_bytes, a.limit_bytes)}});
    std::vector<std::vector<json>> rows;
    rows.push_back({button(t(ctx, "subscription.renew"), route::screen("buy"))});
    if (mine->can_top_up) rows.push_back({button(t(ctx, "traffic.buy_button"), route::screen("trf"))});
    if (mine->can_add_config) rows.push_back({button(t(ctx, "subscription.new_config"), route::screen("newcfg"))});
    rows.push_back({button(t(ctx, "subscription.toggle_auto",
                             {{"state", t(ctx, sub.auto_renew ? "subscription.auto_off" : "subscription.auto_on")}}),
                           route::auto_renew(!sub.auto_renew))});
    if (mine->saved_card) rows.push_back({button(t(ctx, "subscription.remove_card"), route::remove_card())});
    rows.push_back({back_to_menu});
    markup = keyboard(std::move(rows));
  } else if (screen == "newcfg") {
    auto locations = co_await vpn::VpnStore::locations(ctx.tx);
    if (locations.empty()) {
      text = t(ctx, "locations.none");
      markup = keyboard({{button(t(ctx, "common.back"), route::screen("sub"))}});
      co_return;
    }
    text = t(ctx, "screen.locations");
    std::vector<std::vector<json>> rows;
    rows.push_back({button(t(ctx, "locations.auto"), route::new_config("auto"))});
    for (const auto& l : locations) {
      // Xray locations are "x<id>": their ids are the panel nodes', not the WireGuard nodes'.
      std::string target = (l.backend == "wireguard" ? "" : "x") + std::to_string(l.node_id);
      rows.push_back({button(t(ctx, "locations.protocol",
                               {{"flag", flag(l.country_code)}, {"location", l.location}, {"protocol", l.protocol}}),
                             route::new_config(target))});
    }
    rows.push_back({button(t(ctx, "common.back"), route::screen("sub"))});
    markup = keyboard(std::move(rows));
  } else if (screen == "bal") {
    auto summary = co_await shop::balance_summary(ctx.tx, ctx.user.id, 5);
    const auto& totals = summary.totals;
    std::string history;
    for (const auto& line : summary.recent) {
      std::string amount =
          line.account == "balance" ? billing::format_rub(line.amount) : std::to_string(line.amount) + " pt";
      if (line.amount > 0) amount = "+" + amount;
      history += "\n" + t(ctx, "balance.history_line",
                          {{"date", clock_.show_date(line.created_at)},
                           {"amount", amount},
                           {"source", t(ctx, "ledger." + line.source)}});
    }
    text = t(ctx, "screen.balance",
             {{"balance", billing::format_rub(totals.balance)},
              {"points", std::to_string(totals.points)},
              {"history", history}});
    std::vector<std::vector<json>> rows;
    if (summary.points_worth > 0)
      rows.push_back(
          {button(t(ctx, "balance.exchange",
                    {{"points", std::to_string(totals.points)}, {"amount", billing::format_rub(summary.points_worth)}}),
                  route::exchange_points())});
    rows.push_back({back_to_menu});
    markup = keyboard(std::move(rows));
  } else if (screen == "ref") {
    auto summary = co_await shop::referral_summary(ctx.tx, options_.billing.referral_percents, ctx.user.id);
    std::string percents, levels;
    for (size_t i = 0; i < summary.percents.size(); ++i) {
      percents += (i ? "/" : "") + std::to_string(summary.percents[i]);
      levels += t(ctx, "referral.level_line",
                  {{"level", std::to_string(i + 1)},
                   {"friends", catalog_.plural(lang, "plural.friends", summary.per_level[i])}}) +
                "\n";
    }
    if (!percents.empty()) percents += "%";
    std::string link = "https://t.me/" + options_.bot_username + "?start=ref_" + summary.code;
    text = t(
        ctx, "screen.referral",
        {{"percents", percents}, {"link", link}, {"levels", levels}, {"earned", billing::format_rub(summary.earned)}});
    markup = keyboard({{back_to_menu}});
  }
}

awaitable<void> Bot::show_traffic_screen(Context& ctx, const std::vector<std::string>& args, std::string& text,
                                         json& markup) {
  const auto& lang = ctx.user.language;
  auto traffic = co_await vpn::Traffic::usage(ctx.tx, ctx.user.id);
  std::string usage = traffic && traffic->limit_bytes ? traffic_text(lang, traffic->used_bytes, *traffic->limit_bytes)
                                                      : t(ctx, "traffic.no_limit");
  if (args[0] == "trf") {
    auto packages = co_await billing::TrafficPackages::list(ctx.tx, true);
    text = t(ctx, "traffic.title", {{"usage", usage}});
    std::vector<std::vector<json>> rows;
    for (const auto& p : packages) {
      std::string gb = std::to_string(p.gb);
      text +=
          "\n" + t(ctx, "traffic.package_line",
                   {{"gb", gb}, {"price", billing::format_rub(p.price_rub)}, {"stars", std::to_string(p.price_stars)}});
      rows.push_back(
          {button(t(ctx, "traffic.package_button", {{"gb", gb}, {"price", billing::format_rub(p.price_rub)}}),
                  route::traffic_package(p.id))});
    }
    if (packages.empty()) text += "\n" + t(ctx, "traffic.none");
    rows.push_back({button(t(ctx, "common.back"), route::screen("sub"))});
    markup = keyboard(std::move(rows));
    co_return;
  }
  auto id = args.size() > 1 ? parse_id(args[1]) : std::nullopt;
  std::optional<billing::TrafficPackage> package;
  if (id) package = co_await billing::TrafficPackages::get(ctx.tx, *id);
  if (!package || !package->active) {
    text = t(ctx, "traffic.unavailable");
    markup = keyboard({{button(t(ctx, "common.back"), route::screen("trf"))}});
    co_return;
  }
  auto totals = co_await billing::Ledger::totals(ctx.tx, ctx.user.id);
  text = t(ctx, "traffic.package",
           {{"gb", std::to_string(package->gb)},
            {"price", billing::format_rub(package->price_rub)},
            {"stars", std::to_string(package->price_stars)},
            {"usage", usage}});
  std::vector<std::vector<json>> rows;
  for (const auto& method : options_.payment_methods) {
    std::string label = method == "balance"
                            ? t(ctx, "method.balance", {{"balance", billing::format_rub(totals.balance)}})
                            : t(ctx, "method." + method);
    rows.push_back({button(label, route::pay_traffic(package->id, method))});
  }
  rows.push_back({button(t(ctx, "common.back"), route::screen("trf"))});
  markup = keyboard(std::move(rows));
}

awaitable<std::string> Bot::on_shop_callback(Context& ctx, const std::string& action,
                                             const std::vector<std::string>& args, std::vector<std::string>& screen) {
  const auto& lang = ctx.user.language;
  if (action == "pl" && (args.size() == 1 || (args.size() == 2 && args[1] == "g"))) {
    screen = {"plan", args[0]};
    if (args.size() == 2) screen.push_back(args[1]);
    co_return "";
  }
  if (action == "pm" && (args.size() == 2 || args.size() == 3)) {
    screen = {"confirm", args[0], args[1]};
    if (args.size() == 3) screen.push_back(args[2]);
    co_return "";
  }
  if (action == "rc") {
    screen = {"sub"};
    bool removed = co_await billing::SavedMethods::forget(ctx.tx, ctx.user.id);
    if (removed) log::info("bot", "saved card removed by the user", {{"user_id", ctx.user.id}});
    co_return t(ctx, removed ? "subscription.card_removed" : "subscription.no_card");
  }
  if (action == "trial") {
    shop::TrialOptions trial{options_.billing.trial_days, options_.billing.trial_device_limit};
    auto sub = co_await shop::start_trial(ctx.tx, trial, ctx.user.id);
    screen = {"sub"};
    if (!sub) co_return t(ctx, "trial.unavailable");
    std::string granted = t(ctx, "trial.granted", {{"expires", clock_.show(sub->expires_at)}});
    json none;
    co_await reply(ctx, std::move(granted), std::move(none));
    co_return "";
  }
  if (action == "ar" && args.size() == 1) {
    co_await billing::Subscriptions::set_auto_renew(ctx.tx, ctx.user.id, args[0] == "on");
    screen = {"sub"};
    co_return "";
  }
  if (action == "px") {
    screen = {"bal"};
    auto exchanged = co_await shop::exchange_points(ctx.tx, ctx.user.id, "update:" + std::to_string(ctx.update_id));
    if (!exchanged) co_return t(ctx, "balance.nothing");
    co_return t(ctx, "balance.exchanged",
                {{"points", std::to_string(exchanged->points)}, {"amount", billing::format_rub(exchanged->kopecks)}});
  }
  if (action == "nc" && args.size() == 1) {
    screen = {"sub"};
    // "auto", a WireGuard node's id, or "x<id>" for an Xray location.
    shop::ConfigRequest request{std::nullopt, std::nullopt, "update:" + std::to_string(ctx.update_id)};
    bool xray = args[0].size() > 1 && args[0][0] == 'x';
    if (xray) {
      request.panel_node = parse_id(args[0].substr(1));
      if (!request.panel_node) co_return t(ctx, "error.menu_expired");
    } else {
      request.wireguard_node = parse_id(args[0]);
    }
    auto made = co_await shop::request_config(ctx.tx, options_.budgets, ctx.user.id, request);
    using O = shop::ConfigOutcome;
    switch (made.outcome) {
      case O::creating:
        co_return t(ctx, "config.creating");
      case O::over_budget:
        co_return over_budget_notice(ctx, budgets::Kind::config_requests, made.retry_after_s, made.tell);
      case O::need_subscription:
        co_return t(ctx, "config.need_subscription");
      case O::at_device_limit:
        co_return t(ctx, "config.limit", {{"limit", std::to_string(made.device_limit)}});
      case O::location_refused:
        co_return t(ctx, "locations.none");
      case O::traffic_used_up:
        co_return t(ctx, "traffic.blocked_line");
    }
  }
  if (action == "pc" && (args.size() == 2 || (args.size() == 3 && (args[2] == "s" || args[2] == "g")))) {
    auto plan_id = parse_id(args[0]);
    auto provider = route::provider_of(args[1]);
    screen = {"buy"};
    if (!plan_id || !provider) co_return t(ctx, "error.menu_expired");
    shop::PlanPurchase purchase{*plan_id, *provider, args.size() == 3 && args[2] == "g",
                                args.size() == 3 && args[2] == "s"};
    auto checkout = co_await shop::buy_plan(ctx.tx, selling_, ctx.user.id, purchase);
    if (checkout.outcome == shop::CheckoutOutcome::insufficient_balance) screen = {"plan", args[0]};
    if (checkout.outcome != shop::CheckoutOutcome::started)
      co_return co_await checkout_refused(ctx, checkout, "checkout.unavailable", screen);
    const auto& order = *checkout.order;
    if (checkout.promo_dropped && checkout.quote->promo) {
      std::string dropped = t(ctx, "checkout.promo_dropped", {{"code", checkout.quote->promo->code}});
      json none;
      co_await reply(ctx, std::move(dropped), std::move(none));
    }
    std::string days = catalog_.plural(lang, "plural.days", order.days + order.bonus_days);
    std::string devices = catalog_.plural(lang, "plural.devices", order.device_limit);
    std::string title = checkout.quote->plan.title_for(lang);
    std::string description = t(ctx, "invoice.description", {{"days", days}, {"devices", devices}});
    // Shown in place of the confirm screen (one edit, not one more message; the button cannot be pressed twice).
    ctx.status_text = co_await payment_started(ctx, checkout, title, description);
    screen = {"status"};
    co_return "";
  }
  if (action == "tb" && args.size() == 1) {
    screen = {"tpk", args[0]};
    co_return "";
  }
  if (action == "tp" && args.size() == 2) {
    auto package_id = parse_id(args[0]);
    auto provider = route::provider_of(args[1]);
    screen = {"trf"};
    if (!package_id || !provider) co_return t(ctx, "error.menu_expired");
    shop::TrafficPurchase purchase{*package_id, *provider};  // named: g++ 12 and braced temporaries in co_await
    auto checkout = co_await shop::buy_traffic(ctx.tx, selling_, ctx.user.id, purchase);
    if (checkout.outcome == shop::CheckoutOutcome::insufficient_balance) screen = {"tpk", args[0]};
    if (checkout.outcome != shop::CheckoutOutcome::started)
      co_return co_await checkout_refused(ctx, checkout, "traffic.unavailable", screen);
    std::string gb = std::to_string(*checkout.order->traffic_gb);
    std::string title = t(ctx, "traffic.invoice_title", {{"gb", gb}});
    std::string description = t(ctx, "traffic.invoice_description", {{"gb", gb}});
    ctx.status_text = co_await payment_started(ctx, checkout, title, description);
    screen = {"status"};
    co_return "";
  }
  screen = {"menu"};
  co_return t(ctx, "error.menu_expired");
}

awaitable<std::string> Bot::checkout_refused(Context& ctx, const shop::Checkout& checkout, std::string_view unavailable,
                                             std::vector<std::string>& screen) {
  using O = shop::CheckoutOutcome;
  switch (checkout.outcome) {
    case O::not_offered:
      co_return t(ctx, "error.menu_expired");
    case O::insufficient_balance:
      co_return t(
          ctx, "checkout.insufficient_balance",
          {{"balance", billing::format_rub(checkout.balance)}, {"amount", billing::format_rub(checkout.amount)}});
    case O::already_waiting:
      ctx.status_text =
          t(ctx, "checkout.waiting",
            {{"order", std::to_string(checkout.waiting->id)}, {"until", clock_.show(checkout.waiting->expires_at)}});
      break;
    case O::too_many_unpaid:
      ctx.status_text = t(ctx, "checkout.too_many_unpaid", {{"count", std::to_string(checkout.unpaid)}});
      break;
    case O::over_budget:
      ctx.status_text = over_budget_notice(ctx, budgets::Kind::checkouts, checkout.retry_after_s, checkout.tell);
      break;
    case O::unavailable:
    case O::started:
      co_return t(ctx, unavailable);
  }
  // Held: the status takes the screen's place.
  screen = {"status"};
  co_return "";
}

awaitable<std::string> Bot::payment_started(Context& ctx, const shop::Checkout& checkout, const std::string& title,
                                            const std::string& description) {
  const auto& order = *checkout.order;
  std::string order_id = std::to_string(order.id);
  switch (checkout.payment) {
    case shop::PaymentStart::paid_from_balance:
      co_return t(ctx, "checkout.paid_from_balance", {{"order", order_id}});
    case shop::PaymentStart::stars_invoice: {
      OutMessage invoice;
      invoice.chat_id = ctx.chat_id;
      invoice.method = "sendInvoice";
      json price = json::array();
      price.push_back({{"label", title}, {"amount", order.amount}});
      invoice.payload = {{"title", t(ctx, "invoice.title", {{"title", title}})},
                         {"description", description},
                         {"payload", "order:" + order_id},
                         {"provider_token", ""},
                         {"currency", "XTR"},
                         {"prices", price}};
      invoice.unique_key = "invoice:" + order_id;
      co_await telegram::Outbox::enqueue(ctx.tx, invoice);
      co_return t(ctx, "checkout.invoice_sent", {{"order", order_id}});
    }
    case shop::PaymentStart::provider_link:
      if (ctx.pressed_message_id)
        co_await billing::Orders::set_status_message(ctx.tx, order.id, *ctx.pressed_message_id);
      break;
  }
  co_return t(ctx, "checkout.creating_link", {{"order", order_id}});
}

awaitable<void> Bot::on_pre_checkout(Context& ctx, const json& query) {
  std::string query_id = query.value("id", "");
  auto invoice = stars_invoice(query);
  // Telegram waits at most 10 s for this answer; the order must still be payable and match exactly. An expired order
  // is not: its promo use was given back (a payment that still arrives late is checked again, see apply_payment).
  bool ok = false;
  if (invoice.order_id) {
    auto order = co_await billing::Orders::get(ctx.tx, *invoice.order_id);
    ok = order && order->user_id == ctx.user.id && order->provider == "stars" && order->currency == invoice.currency &&
         order->amount == invoice.total && order->state == "pending";
  }
  OutMessage answer;
  answer.chat_id = ctx.chat_id;
  answer.method = "answerPreCheckoutQuery";
  answer.priority = telegram::kPriorityReply + 10;  // ahead of everything: Telegram's deadline is 10 s
  answer.payload = {{"pre_checkout_query_id", query_id}, {"ok", ok}};
  if (!ok) answer.payload["error_message"] = t(ctx, "precheckout.invalid");
  answer.unique_key = "pre-checkout:" + query_id;
  co_await telegram::Outbox::enqueue(ctx.tx, answer);
  if (!ok) log::warn("billing", "pre-checkout refused", {{"user_id", ctx.user.id}, {"payload", invoice.payload}});
}

awaitable<void> Bot::on_successful_payment(Context& ctx, const json& payment) {
  auto invoice = stars_invoice(payment);
  std::string charge = payment.value("telegram_payment_charge_id", "");
  if (!invoice.order_id || charge.empty()) {
    log::error("billing", "successful_payment without our order",
               {{"user_id", ctx.user.id}, {"payload", invoice.payload}});
    co_return;
  }
  // Stored like provider notifications: the charge id is unique, so a replayed update applies nothing twice.
  auto stored = co_await ctx.tx.exec(
      "INSERT INTO payment_events (provider, external_id, event, payload, processed_at, outcome) "
      "VALUES ('stars', $1, 'successful_payment', $2, now(), 'applied in the update') "
      "ON CONFLICT (provider, external_id, event) DO NOTHING RETURNING id",
      charge, payment);
  if (stored.empty()) co_return;
  auto result = co_await billing::Orders::apply_payment(ctx.tx, *invoice.order_id, "stars", charge, invoice.total,
                                                        invoice.currency, false, options_.billing);
  co_await ctx.tx.exec("UPDATE payment_events SET outcome = $2 WHERE id = $1", stored.get<int64_t>(0, 0),
                       std::string("payment ") + billing::to_string(result));
}

awaitable<void> Bot::on_promo_code(Context& ctx, const std::string& typed) {
  auto entered = co_await shop::enter_code(ctx.tx, options_.default_device_limit, ctx.user.id, typed,
                                           "update:" + std::to_string(ctx.update_id));
  if (entered.gift) {
    co_await show_gift_outcome(ctx, *entered.gift);
    co_return;
  }
  const auto& outcome = entered.promo;
  const auto& lang = ctx.user.language;
  std::string code = html_escape(outcome.promo ? outcome.promo->code : billing::Promos::normalize(typed));
  std::string answer;
  using S = billing::PromoStatus;
  switch (outcome.status) {
    case S::applied:
      answer = t(ctx, outcome.promo->kind == "plan" ? "promo.unlocked" : "promo.applied", {{"code", code}});
      break;
    case S::credited_balance:
      answer = t(ctx, "promo.balance", {{"amount", billing::format_rub(outcome.promo->value)}});
      break;
    case S::added_days:
      answer = t(ctx, "promo.days",
                 {{"days", catalog_.plural(lang, "plural.days", outcome.promo->value)},
                  {"expires", entered.subscription ? clock_.show(entered.subscription->expires_at) : ""}});
      break;
    case S::joined_group:
      answer = t(ctx, "promo.group", {{"percent", std::to_string(entered.group_percent)}});
      break;
    case S::not_found:
      answer = t(ctx, "promo.not_found", {{"code", code}});
      break;
    case S::not_yet_valid:
    case S::expired:
      answer = t(ctx, "promo.expired", {{"code", code}});
      break;
    case S::exhausted:
      answer = t(ctx, "promo.exhausted", {{"code", code}});
      break;
    case S::already_used:
      answer = t(ctx, "promo.already_used", {{"code", code}});
      break;
    case S::not_first_purchase:
      answer = t(ctx, "promo.first_purchase", {{"code", code}});
      break;
  }
  json markup = keyboard(
      {{button(t(ctx, "menu.buy"), route::screen("buy"))}, {button(t(ctx, "common.menu"), route::screen("menu"))}});
  co_await reply(ctx, std::move(answer), std::move(markup));
}

std::string Bot::gift_link(const std::string& code) const {
  return "https://t.me/" + options_.bot_username + "?start=gift_" + code;
}

awaitable<void> Bot::send_gift_code(db::Transaction& tx, const billing::Order& order, const std::string& lang,
                                    const std::string& title) const {
  auto gift = co_await billing::Gifts::for_order(tx, order.id);
  if (!gift) throw std::runtime_error("paid gift order " + std::to_string(order.id) + " has no gift");
  std::string link = gift_link(gift->code);
  std::string text = catalog_.text(lang, "gift.ready",
                                   {{"order", std::to_string(order.id)},
                                    {"title", html_escape(title)},
                                    {"days", catalog_.plural(lang, "plural.days", gift->days)},
                                    {"link", link},
                                    {"code", gift->code}});
  // Telegram's share page: the buyer picks the recipient's chat and the link goes there as a message.
  json share = {{"text", catalog_.text(lang, "gift.share_button")},
                {"url", "https://t.me/share/url?url=" + url_encode(link)}};
  json markup = keyboard({{share}});
  co_await send_to_user(tx, order.user_id, std::move(text), std::move(markup), "receipt:" + std::to_string(order.id));
}

awaitable<void> Bot::redeem_gift(Context& ctx, const std::string& code) {
  auto outcome = co_await billing::Gifts::redeem(ctx.tx, code, ctx.user.id);
  co_await show_gift_outcome(ctx, outcome);
}

awaitable<void> Bot::show_gift_outcome(Context& ctx, const billing::GiftOutcome& outcome) {
  const auto& lang = ctx.user.language;
  std::string answer;
  json markup;
  switch (outcome.status) {
    case billing::GiftStatus::redeemed: {
      const auto& gift = *outcome.gift;
      answer = t(ctx, "gift.redeemed",
                 {{"days", catalog_.plural(lang, "plural.days", gift.days)},
                  {"expires", clock_.show(outcome.subscription->expires_at)}});
      markup = keyboard({{button(t(ctx, "menu.configs"), route::screen("cfg")),
                          button(t(ctx, "menu.subscription"), route::screen("sub"))}});
      if (gift.buyer_id != ctx.user.id) {
        auto buyer = co_await Users::find(ctx.tx, gift.buyer_id);
        if (buyer && buyer->reachable) {
          std::string notice = catalog_.text(buyer->language, "gift.redeemed_notice",
                                             {{"name", html_escape(ctx.user.first_name)}, {"code", gift.code}});
          json none;
          co_await send_to_user(ctx.tx, buyer->id, std::move(notice), std::move(none),
                                "gift-redeemed:" + std::to_string(gift.id));
        }
      }
      break;
    }
    case billing::GiftStatus::already_redeemed:
      answer = t(ctx, outcome.gift->redeemed_by == ctx.user.id ? "gift.yours_already" : "gift.already_redeemed");
      break;
    case billing::GiftStatus::revoked:
      answer = t(ctx, "gift.revoked");
      break;
    case billing::GiftStatus::not_found:
      answer = t(ctx, "gift.not_found");
      break;
  }
  if (markup.is_null()) markup = main_menu_keyboard(ctx);
  co_await reply(ctx, std::move(answer), std::move(markup));
}

awaitable<std::pair<std::string, json>> Bot::plan_receipt(db::Transaction& tx, const billing::Order& order,
                                                          const std::string& lang) const {
  auto plan = co_await billing::Plans::get(tx, order.plan_id);
  auto sub = co_await billing::Subscriptions::get(tx, order.user_id);
  std::string text = catalog_.text(lang, "payment.receipt",
                                   {{"order", std::to_string(order.id)},
                                    {"title", plan ? html_escape(plan->title_for(lang)) : ""},
                                    {"expires", sub ? clock_.show(sub->expires_at) : ""}});
  json markup = keyboard({{button(catalog_.text(lang, "menu.configs"), route::screen("cfg")),
                           button(catalog_.text(lang, "menu.subscription"), route::screen("sub"))}});
  co_return std::pair{std::move(text), std::move(markup)};
}

billing::BillingNotifier Bot::notifier() const {
  billing::BillingNotifier n;
  n.payment_link = [this](db::Transaction& tx, const billing::Order& order) -> awaitable<void> {
    std::string lang = co_await Users::language_of(tx, order.user_id);
    std::string amount = billing::format_rub(order.amount);
    std::string text = catalog_.text(
        lang, "payment.link",
        {{"order", std::to_string(order.id)}, {"amount", amount}, {"until", clock_.show(order.expires_at)}});
    json pay = {{"text", catalog_.text(lang, "payment.pay_button", {{"amount", amount}})},
                {"url", order.confirmation_url.value_or("")}};
    json markup = keyboard({{pay}, {button(catalog_.text(lang, "common.menu"), route::screen("menu"))}});
    std::string key = "payment-link:" + std::to_string(order.id);
    if (!order.status_message_id) {
      co_await send_to_user(tx, order.user_id, std::move(text), std::move(markup), key);
      co_return;
    }
    // In place of the order's status (the confirm screen the buyer pressed): no new message in the chat. A message
    // the buyer deleted meanwhile gets the link as a new one.
    OutMessage link;
    link.chat_id = order.user_id;
    link.method = "editMessageText";
    link.payload = {{"text", text}, {"parse_mode", "HTML"}, {"reply_markup", markup}};
    link.fallback = {{"method", "sendMessage"}, {"payload", link.payload}};
    link.payload["message_id"] = *order.status_message_id;
    link.priority = telegram::kPriorityNotice;
    link.unique_key = key;
    co_await telegram::Outbox::enqueue(tx, link);
  };
  n.payment_failed = [this](db::Transaction& tx, const billing::Order& order,
                            const std::string& /*reason*/) -> awaitable<void> {
    std::string lang = co_await Users::language_of(tx, order.user_id);
    // The reason is internal (a provider's or transport's text): kept on the order for admins, never shown.
    std::string text = catalog_.text(lang, "payment.failed", {{"order", std::to_string(order.id)}});
    json markup = keyboard({{button(catalog_.text(lang, "menu.buy"), route::screen("buy"))}});
    co_await send_to_user(tx, order.user_id, std::move(text), std::move(markup),
                          "payment-failed:" + std::to_string(order.id));
  };
  n.receipt = [this](db::Transaction& tx, const billing::Order& order) -> awaitable<void> {
    std::string lang = co_await Users::language_of(tx, order.user_id);
    if (order.state == "credited") {
      std::string text =
          catalog_.text(lang, "payment.credited",
                        {{"order", std::to_string(order.id)}, {"amount", billing::format_rub(order.value_rub)}});
      json markup = keyboard({{button(catalog_.text(lang, "menu.buy"), route::screen("buy"))}});
      co_await send_to_user(tx, order.user_id, std::move(text), std::move(markup),
                            "receipt:" + std::to_string(order.id));
      co_return;
    }
    auto plan = co_await billing::Plans::get(tx, order.plan_id);
    if (order.gift) {
      // A named local: g++ 12 mis-destroys a conditional's temporary inside a co_await expression.
      std::string title = plan ? plan->title_for(lang) : "";
      co_await send_gift_code(tx, order, lang, title);
      co_return;
    }
    if (order.traffic_gb) {
      auto traffic = co_await vpn::Traffic::usage(tx, order.user_id);
      std::string usage = traffic && traffic->limit_bytes
                              ? traffic_text(lang, traffic->used_bytes, *traffic->limit_bytes)
                              : catalog_.text(lang, "traffic.no_limit");
      std::string text = catalog_.text(
          lang, "traffic.receipt",
          {{"order", std::to_string(order.id)}, {"gb", std::to_string(*order.traffic_gb)}, {"usage", usage}});
      json markup = keyboard({{button(catalog_.text(lang, "menu.subscription"), route::screen("sub"))}});
      co_await send_to_user(tx, order.user_id, std::move(text), std::move(markup),
                            "receipt:" + std::to_string(order.id));
      co_return;
    }
    auto [text, markup] = co_await plan_receipt(tx, order, lang);
    co_await send_to_user(tx, order.user_id, std::move(text), std::move(markup), "receipt:" + std::to_string(order.id));
  };
  n.refunded = [this](db::Transaction& tx, const billing::Order& order) -> awaitable<void> {
    std::string lang = co_await Users::language_of(tx, order.user_id);
    auto sub = co_await billing::Subscriptions::get(tx, order.user_id);
    std::string text =
        catalog_.text(lang, "payment.refunded",
                      {{"order", std::to_string(order.id)}, {"expires", sub ? clock_.show(sub->expires_at) : ""}});
    json none;
    co_await send_to_user(tx, order.user_id, std::move(text), std::move(none), "refunded:" + std::to_string(order.id));
  };
  n.renewal_declined = [this](db::Transaction& tx, const billing::Order& order,
                              const std::string& reason) -> awaitable<void> {
    co_await renew_from_balance_or_tell(tx, *this, order.user_id, order.plan_id, reason);
  };
  return n;
}

}  // namespace vpnbot::bot
