// The shop part of the bot outside its screens and buttons (bot/screens/, bot/actions/): Telegram Stars payments (the
// pre-checkout answer and the successful payment), typed promo and gift codes, and the billing notices (receipts, gift
// codes, refunds). Every effect happens inside the update's transaction; provider calls happen later in jobs.
#include <charconv>
#include <map>

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
    case S::not_yet_valid:
    case S::expired:
    case S::exhausted:
    case S::already_used:
    case S::not_first_purchase: {
      // A refused code: why, naming the code.
      static const std::map<S, const char*> refusals{
          {S::not_found, "promo.not_found"},       {S::not_yet_valid, "promo.expired"},
          {S::expired, "promo.expired"},           {S::exhausted, "promo.exhausted"},
          {S::already_used, "promo.already_used"}, {S::not_first_purchase, "promo.first_purchase"}};
      answer = t(ctx, refusals.at(outcome.status), {{"code", code}});
      break;
    }
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
