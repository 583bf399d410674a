// A user's card: find a user, grant days, ban, adjust the balance, refund a Stars or balance order.
#include <algorithm>
#include <sstream>

#include "billing/money.hpp"
#include "billing/orders.hpp"
#include "bot/admin/page.hpp"
#include "ops/user_card.hpp"

namespace vpnbot::bot::admin {

namespace {
Args card_of(int64_t user_id) {
  return {"u", std::to_string(user_id)};
}
}  // namespace

awaitable<Page> user_card(Context& ctx, const Args& args) {
  const auto& referral_levels = ctx.bot.options().billing.referral_percents;
  auto card = co_await ops::load_user_card(ctx.tx, to_int(args[1]).value_or(0),
                                           std::max(1, static_cast<int>(referral_levels.size())));
  Page page;
  if (!card) {
    page.text = t(ctx, "admin.user.none", {{"id", html_escape(args[1])}});
    page.rows = {{route_button(t(ctx, "admin.home.find"), {"find"})}, {back_to(ctx, {"home"})}};
    co_return page;
  }
  std::string uid = std::to_string(card->id);
  page.text = "👤 " + card->render(true);
  page.rows = {{route_button(t(ctx, "admin.user.add_days", {{"days", "7"}}), {"gd", uid, "7"}),
                route_button(t(ctx, "admin.user.add_days", {{"days", "30"}}), {"gd", uid, "30"})},
               {card->banned ? route_button(t(ctx, "admin.user.unban"), {"unban", uid})
                             : route_button(t(ctx, "admin.user.ban"), {"ban", uid}),
                route_button(t(ctx, "admin.user.balance"), {"bal", uid})}};
  for (const auto& o : card->orders)
    if (o.state == "paid" && (o.provider == "stars" || o.provider == "balance"))
      page.rows.push_back(
          {route_button(t(ctx, "admin.user.refund", {{"order", std::to_string(o.id)}, {"provider", o.provider}}),
                        {"rf", std::to_string(o.id)})});
  page.rows.push_back({back_to(ctx, {"home"})});
  co_return page;
}

awaitable<Page> balance_prompt(Context& ctx, const Args& args) {
  json awaiting{{"await", "admin_balance"}, {"user", to_int(args[1]).value_or(0)}};
  co_await expect_reply(ctx, std::move(awaiting));
  co_return question(ctx, t(ctx, "admin.user.balance_prompt"), {"u", args[1]});
}

awaitable<Page> refund_confirm(Context& ctx, const Args& args) {
  auto order = co_await billing::Orders::get(ctx.tx, to_int(args[1]).value_or(0));
  if (!order) co_return Page{t(ctx, "admin.refund.none"), {{back_to(ctx, {"home"})}}};
  std::string text = t(ctx, "admin.refund.confirm",
                       {{"order", std::to_string(order->id)},
                        {"user", std::to_string(order->user_id)},
                        {"amount", std::to_string(order->amount)},
                        {"currency", order->currency},
                        {"provider", order->provider},
                        {"state", order->state}});
  co_return Page{std::move(text),
                 {{route_button(t(ctx, "admin.refund.yes"), {"rfy", std::to_string(order->id)})},
                  {back_to(ctx, card_of(order->user_id))}}};
}

awaitable<Outcome> grant_days(Context& ctx, const Args& args) {
  int days = static_cast<int>(to_int(args[2]).value_or(0));
  ops::Actor actor = actor_of(ctx);
  auto sub = co_await ops::Operations::grant_days(ctx.tx, actor, to_int(args[1]).value_or(0), days,
                                                  ctx.bot.options().default_device_limit);
  co_return Outcome{t(ctx, "admin.user.days_granted", {{"expires", sub.expires_at}}), {"u", args[1]}};
}

awaitable<Outcome> set_banned(Context& ctx, const Args& args) {
  bool ban = args[0] == "ban";
  std::string reason = "from the admin panel";
  ops::Actor actor = actor_of(ctx);
  auto changed = co_await ops::Operations::set_banned(ctx.tx, actor, to_int(args[1]).value_or(0), ban, reason);
  co_return Outcome{t(ctx, ban ? "admin.user.banned" : "admin.user.unbanned", {{"count", std::to_string(changed)}}),
                    {"u", args[1]}};
}

awaitable<Outcome> refund(Context& ctx, const Args& args) {
  auto order = co_await billing::Orders::get(ctx.tx, to_int(args[1]).value_or(0));
  if (!order) throw std::invalid_argument(t(ctx, "admin.refund.no_order"));
  std::string note = "refund from the admin panel";
  ops::Actor actor = actor_of(ctx);
  auto result = co_await ops::Operations::refund_order(ctx.tx, actor, order->id, note);
  co_return Outcome{result.message, card_of(order->user_id)};
}

awaitable<Answer> answer_find(Context& ctx, const json&, const std::string& text) {
  auto id = co_await ops::find_user(ctx.tx, text);
  if (!id) co_return Answer{{}, t(ctx, "admin.find.nobody", {{"query", html_escape(text)}})};
  co_return Answer{card_of(*id), ""};
}

// "<amount> <reason>", the amount in roubles, negative to take.
awaitable<Answer> answer_balance(Context& ctx, const json& conversation, const std::string& text) {
  int64_t user_id = conversation.value("user", int64_t{0});
  std::istringstream in(text);
  std::string amount_text, reason;
  in >> amount_text;
  std::getline(in >> std::ws, reason);
  bool negative = !amount_text.empty() && amount_text[0] == '-';
  int64_t amount = billing::parse_rub(negative ? amount_text.substr(1) : amount_text);
  if (negative) amount = -amount;
  if (reason.empty()) throw std::invalid_argument(t(ctx, "admin.user.reason_missing"));
  ops::Actor actor = actor_of(ctx);
  co_await ops::Operations::adjust_balance(ctx.tx, actor, user_id, amount, reason);
  co_return Answer{card_of(user_id), ""};
}

}  // namespace vpnbot::bot::admin
