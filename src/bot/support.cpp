// Support tickets in the bot: the Support screen, a user's messages (text, photos, documents) relayed into the
// ticket's forum topic in the support group, the staff's messages in that topic relayed back, and closing/reopening
// from either side. Everything is outbox rows written in the update's transaction; the topic itself is made by the
// support.topic job (support/jobs.cpp), which relays what arrived before it existed.
#include "bot/bot.hpp"
#include "bot/callback.hpp"
#include "bot/context.hpp"
#include "bot/routes.hpp"
#include "core/log.hpp"
#include "jobs/queue.hpp"
#include "shop/tickets.hpp"
#include "support/relay.hpp"
#include "support/tickets.hpp"

namespace vpnbot::bot {

using telegram::json;
using telegram::OutMessage;

namespace {

// What a message carries, for the ticket's record: text, photo or document (others are not relayed).
std::optional<std::string> message_kind(const json& message) {
  if (message.contains("photo")) return "photo";
  if (message.contains("document")) return "document";
  if (message.contains("text") && message["text"].is_string()) return "text";
  return std::nullopt;
}

std::string message_text(const json& message) {
  for (const char* field : {"text", "caption"})
    if (message.contains(field) && message[field].is_string()) return message[field].get<std::string>();
  return "";
}

}  // namespace

awaitable<bool> Bot::on_support_message(Context& ctx, const json& message) {
  if (options_.support_chat_id == 0) co_return false;
  auto kind = message_kind(message);
  if (!kind) co_return false;
  bool asked = ctx.user.conversation.is_object() && ctx.user.conversation.value("await", "") == "support";
  shop::SupportMessage written{*kind, message_text(message), ctx.chat_id, message.value("message_id", int64_t{0})};
  auto write = co_await shop::write_to_support(ctx.tx, support_settings(), ctx.user.id, asked, written);
  switch (write.outcome) {
    case shop::SupportOutcome::not_for_support:
      co_return false;
    case shop::SupportOutcome::over_budget:
      if (write.tell) {
        std::string notice = over_budget_notice(ctx, write.budget, write.retry_after_s, true);
        json none;
        co_await reply(ctx, std::move(notice), std::move(none));
      }
      co_return true;
    case shop::SupportOutcome::replayed:
      co_return true;
    case shop::SupportOutcome::recorded:
      break;
  }
  if (asked) {
    json none;
    co_await Users::set_conversation(ctx.tx, ctx.user.id, none);
    ctx.user.conversation = nullptr;
  }
  if (write.opened) {
    std::string id = std::to_string(write.ticket->id);
    std::string text =
        t(ctx, "support.opened", {{"id", id}, {"minutes", std::to_string(options_.support_sla_minutes)}});
    json markup = keyboard({{button(t(ctx, "support.close_button"), route::close_ticket(write.ticket->id))},
                            {button(t(ctx, "common.menu"), route::screen("menu"))}});
    co_await reply(ctx, std::move(text), std::move(markup));
  }
  co_return true;
}

shop::SupportSettings Bot::support_settings() const {
  return {options_.support_chat_id, options_.budgets};
}

awaitable<bool> Bot::close_ticket_by_staff(db::Transaction& tx, int64_t ticket_id, std::string unique_suffix) const {
  auto ticket = co_await support::Tickets::get(tx, ticket_id, true);
  if (!ticket || !co_await support::Tickets::close(tx, ticket_id, "staff")) co_return false;
  if (ticket->topic_id)
    co_await support::set_topic_state(tx, options_.support_chat_id, *ticket->topic_id, false,
                                      "ticket-close:" + unique_suffix);
  auto user = co_await Users::find(tx, ticket->user_id);
  if (user && user->reachable) {
    std::string text = catalog_.text(user->language, "support.closed_by_staff", {{"id", std::to_string(ticket_id)}});
    json none;
    co_await send_to_user(tx, user->id, std::move(text), std::move(none), "ticket-closed-notice:" + unique_suffix);
  }
  log::info("support", "ticket closed", {{"ticket_id", ticket_id}, {"by", "staff"}});
  co_return true;
}

awaitable<void> Bot::on_support_group_message(db::Transaction& tx, int64_t update_id, const json& message) {
  const json& from = message["from"];
  if (from.value("is_bot", false)) co_return;
  if (!message.value("is_topic_message", false) || !message.contains("message_thread_id")) co_return;  // General
  int64_t topic_id = message.value("message_thread_id", int64_t{0});
  auto ticket = co_await support::Tickets::by_topic(tx, topic_id);
  if (!ticket) co_return;  // a topic the staff made themselves
  std::string text = message_text(message);
  std::string suffix = std::to_string(ticket->id) + ":" + std::to_string(update_id);
  if (text == "/close" || text.rfind("/close@", 0) == 0) {
    if (!co_await close_ticket_by_staff(tx, ticket->id, suffix))
      co_await support::say_in_topic(tx, options_.support_chat_id, topic_id,
                                     "Ticket #" + std::to_string(ticket->id) + " is already closed.",
                                     "ticket-note:" + suffix);
    co_return;
  }
  if (text == "/reopen" || text.rfind("/reopen@", 0) == 0) {
    if (co_await support::Tickets::reopen(tx, ticket->id)) {
      co_await support::set_topic_state(tx, options_.support_chat_id, topic_id, true, "ticket-reopen:" + suffix);
      auto user = co_await Users::find(tx, ticket->user_id);
      if (user && user->reachable) {
        std::string notice = catalog_.text(user->language, "support.reopened", {{"id", std::to_string(ticket->id)}});
        json none;
        co_await send_to_user(tx, user->id, std::move(notice), std::move(none), "ticket-reopened:" + suffix);
      }
      log::info("support", "ticket reopened", {{"ticket_id", ticket->id}});
    } else {
      co_await support::say_in_topic(
          tx, options_.support_chat_id, topic_id,
          "Ticket #" + std::to_string(ticket->id) +
              " cannot be reopened: it is open, or the user has opened another ticket since.",
          "ticket-note:" + suffix);
    }
    co_return;
  }
  auto kind = message_kind(message);
  if (!kind) co_return;
  auto row = co_await support::Tickets::record(tx, ticket->id, "staff", options_.support_chat_id,
                                               message.value("message_id", int64_t{0}), *kind, text);
  if (!row) co_return;  // seen before
  // The staff's own message, copied: text, photo or document as they wrote it.
  OutMessage copy;
  copy.chat_id = ticket->user_id;
  copy.method = "copyMessage";
  copy.priority = telegram::kPriorityNotice;
  copy.payload = {{"from_chat_id", options_.support_chat_id}, {"message_id", message.value("message_id", int64_t{0})}};
  copy.unique_key = "ticket-reply:" + std::to_string(*row);
  co_await telegram::Outbox::enqueue(tx, copy);
  co_await support::Tickets::mark_relayed(tx, *row);
}

}  // namespace vpnbot::bot
