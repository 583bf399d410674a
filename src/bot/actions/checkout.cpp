// Buying: a plan chosen, its payment method, the payment started (by the shop core: the order, then a provider's
// link, a Stars invoice or the balance); the same for a traffic package. Every decision on the way is the core's
// (shop/checkout.hpp); here it is worded, and a Stars order gets its invoice.
#include "shop/checkout.hpp"
#include "billing/money.hpp"
#include "billing/orders.hpp"
#include "bot/actions/action.hpp"
#include "telegram/outbox.hpp"

namespace vpnbot::bot::actions {

using telegram::json;

namespace {

// The words for a checkout the shop core did not start: a notice, or the status screen (a purchase held: already
// waiting, too many unpaid, over budget).
Outcome checkout_refused(Context& ctx, const shop::Checkout& checkout, std::string_view unavailable,
                         std::string screen) {
  using O = shop::CheckoutOutcome;
  switch (checkout.outcome) {
    case O::not_offered:
      return answer(t(ctx, "error.menu_expired"), screen);
    case O::insufficient_balance:
      return answer(
          t(ctx, "checkout.insufficient_balance",
            {{"balance", billing::format_rub(checkout.balance)}, {"amount", billing::format_rub(checkout.amount)}}),
          screen);
    case O::already_waiting:
      ctx.status_text = t(ctx, "checkout.waiting",
                          {{"order", std::to_string(checkout.waiting->id)},
                           {"until", ctx.bot.clock().show(checkout.waiting->expires_at)}});
      break;
    case O::too_many_unpaid:
      ctx.status_text = t(ctx, "checkout.too_many_unpaid", {{"count", std::to_string(checkout.unpaid)}});
      break;
    case O::over_budget:
      ctx.status_text = over_budget_notice(ctx, budgets::Kind::checkouts, checkout.retry_after_s, checkout.tell);
      break;
    case O::unavailable:
    case O::started:
      return answer(t(ctx, unavailable), screen);
  }
  return answer("", "status");  // held: the status takes the screen's place
}

// The status shown once the core started paying an order, in place of the confirm screen (one edit, not one more
// message; the button cannot be pressed twice). A Stars order gets its invoice here; a provider's link replaces the
// status later, in the same message.
awaitable<Outcome> payment_started(Context& ctx, const shop::Checkout& checkout, const std::string& title,
                                   const std::string& description) {
  const auto& order = *checkout.order;
  std::string order_id = std::to_string(order.id);
  std::string status = t(ctx, "checkout.creating_link", {{"order", order_id}});
  switch (checkout.payment) {
    case shop::PaymentStart::paid_from_balance:
      status = t(ctx, "checkout.paid_from_balance", {{"order", order_id}});
      break;
    case shop::PaymentStart::stars_invoice: {
      telegram::OutMessage invoice;
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
      status = t(ctx, "checkout.invoice_sent", {{"order", order_id}});
      break;
    }
    case shop::PaymentStart::provider_link:
      if (ctx.pressed_message_id)
        co_await billing::Orders::set_status_message(ctx.tx, order.id, *ctx.pressed_message_id);
      break;
  }
  ctx.status_text = std::move(status);
  co_return answer("", "status");
}

std::string plural(const Context& ctx, std::string_view key, int64_t n) {
  return ctx.bot.catalog().plural(ctx.user.language, key, n);
}

}  // namespace

// "pl:<plan>[:g]": the plan, for oneself or as a gift.
awaitable<Outcome> choose_plan(Context& ctx, const Args& args) {
  if (args.size() == 1) co_return answer("", "plan:" + args[0]);
  if (args.size() == 2 && args[1] == "g") co_return answer("", "plan:" + args[0] + ":g");
  co_return answer(t(ctx, "error.menu_expired"), "menu");
}

// "pm:<plan>:<method>[:s|:g]": the confirmation of one payment method.
awaitable<Outcome> choose_method(Context& ctx, const Args& args) {
  if (args.size() != 2 && args.size() != 3) co_return answer(t(ctx, "error.menu_expired"), "menu");
  std::string screen = "confirm";
  for (const auto& arg : args) screen += ":" + arg;
  co_return answer("", std::move(screen));
}

// "pc:<plan>:<method>[:s|:g]": pay (the card saved for renewals with "s", a gift with "g").
awaitable<Outcome> pay_plan(Context& ctx, const Args& args) {
  if (!(args.size() == 2 || (args.size() == 3 && (args[2] == "s" || args[2] == "g"))))
    co_return answer(t(ctx, "error.menu_expired"), "menu");
  auto plan_id = parse_id(args[0]);
  auto provider = route::provider_of(args[1]);
  if (!plan_id || !provider) co_return answer(t(ctx, "error.menu_expired"), "buy");
  shop::PlanPurchase purchase{*plan_id, *provider, args.size() == 3 && args[2] == "g",
                              args.size() == 3 && args[2] == "s"};
  auto checkout = co_await shop::buy_plan(ctx.tx, ctx.bot.selling(), ctx.user.id, purchase);
  if (checkout.outcome != shop::CheckoutOutcome::started) {
    bool short_of_balance = checkout.outcome == shop::CheckoutOutcome::insufficient_balance;
    co_return checkout_refused(ctx, checkout, "checkout.unavailable", short_of_balance ? "plan:" + args[0] : "buy");
  }
  const auto& order = *checkout.order;
  if (checkout.promo_dropped && checkout.quote->promo) {
    std::string dropped = t(ctx, "checkout.promo_dropped", {{"code", checkout.quote->promo->code}});
    json none;
    co_await reply(ctx, std::move(dropped), std::move(none));
  }
  std::string days = plural(ctx, "plural.days", order.days + order.bonus_days);
  std::string devices = plural(ctx, "plural.devices", order.device_limit);
  std::string title = checkout.quote->plan.title_for(ctx.user.language);
  std::string description = t(ctx, "invoice.description", {{"days", days}, {"devices", devices}});
  co_return co_await payment_started(ctx, checkout, title, description);
}

// "tb:<package>": a traffic package's payment methods.
awaitable<Outcome> choose_package(Context& ctx, const Args& args) {
  if (args.size() != 1) co_return answer(t(ctx, "error.menu_expired"), "menu");
  co_return answer("", "tpk:" + args[0]);
}

// "tp:<package>:<method>": pay for a traffic package.
awaitable<Outcome> pay_package(Context& ctx, const Args& args) {
  if (args.size() != 2) co_return answer(t(ctx, "error.menu_expired"), "menu");
  auto package_id = parse_id(args[0]);
  auto provider = route::provider_of(args[1]);
  if (!package_id || !provider) co_return answer(t(ctx, "error.menu_expired"), "trf");
  shop::TrafficPurchase purchase{*package_id, *provider};  // named: g++ 12 and braced temporaries in co_await
  auto checkout = co_await shop::buy_traffic(ctx.tx, ctx.bot.selling(), ctx.user.id, purchase);
  if (checkout.outcome != shop::CheckoutOutcome::started) {
    bool short_of_balance = checkout.outcome == shop::CheckoutOutcome::insufficient_balance;
    co_return checkout_refused(ctx, checkout, "traffic.unavailable", short_of_balance ? "tpk:" + args[0] : "trf");
  }
  std::string gb = std::to_string(*checkout.order->traffic_gb);
  std::string title = t(ctx, "traffic.invoice_title", {{"gb", gb}});
  std::string description = t(ctx, "traffic.invoice_description", {{"gb", gb}});
  co_return co_await payment_started(ctx, checkout, title, description);
}

}  // namespace vpnbot::bot::actions
