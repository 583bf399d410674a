#include "shop/tickets.hpp"

#include "core/log.hpp"
#include "jobs/queue.hpp"
#include "support/relay.hpp"

namespace vpnbot::shop {

namespace {

// Each message is copied into the support group (20 a minute for the whole bot) and each new ticket is a forum
// topic: one user's share of both is bounded.
awaitable<bool> within(db::Transaction& tx, const budgets::Settings& budgets, int64_t user_id, budgets::Kind kind,
                       SupportWrite& write) {
  auto spent = co_await budgets::spend(tx, user_id, kind, budgets);
  if (spent.allowed) co_return true;
  write.outcome = SupportOutcome::over_budget;
  write.budget = kind;
  write.retry_after_s = spent.retry_after_s;
  write.tell = spent.tell;
  co_return false;
}

}  // namespace

awaitable<SupportWrite> write_to_support(db::Transaction& tx, SupportSettings settings, int64_t user_id, bool asked,
                                         SupportMessage message) {
  SupportWrite write;
  if (settings.support_chat_id == 0) co_return write;
  // Not asked on a Support screen: only a user with an open ticket is writing to it (read once, locked).
  std::optional<support::Ticket> open = co_await support::Tickets::open_of(tx, user_id, true);
  if (!open && !asked) co_return write;
  if (!co_await within(tx, settings.budgets, user_id, budgets::Kind::support_messages, write)) co_return write;
  if (!open && !co_await within(tx, settings.budgets, user_id, budgets::Kind::tickets, write)) co_return write;
  if (!open) open = co_await support::Tickets::open_for(tx, user_id, write.opened);
  const support::Ticket& ticket = *open;
  write.ticket = ticket;
  auto row = co_await support::Tickets::record(tx, ticket.id, "user", message.from_chat_id, message.message_id,
                                               message.kind, message.text);
  if (!row) {
    write.outcome = SupportOutcome::replayed;
    co_return write;
  }
  write.outcome = SupportOutcome::recorded;
  if (ticket.topic_id) {
    co_await support::relay_to_topic(tx, settings.support_chat_id, *ticket.topic_id, message.from_chat_id,
                                     message.message_id, *row);
  } else if (write.opened) {
    jobs::NewJob topic;
    topic.kind = "support.topic";
    topic.payload = {{"ticket_id", ticket.id}};
    topic.unique_key = "support.topic:" + std::to_string(ticket.id);
    topic.priority = 5;
    co_await jobs::Queue::enqueue(tx, topic);
  }  // else: the topic is being made; its job relays this message with the others
  if (write.opened) log::info("support", "ticket opened", {{"ticket_id", ticket.id}, {"user_id", user_id}});
  co_return write;
}

awaitable<TicketClose> close_own_ticket(db::Transaction& tx, SupportSettings settings, int64_t user_id,
                                        int64_t ticket_id, std::string key) {
  auto ticket = co_await support::Tickets::get(tx, ticket_id, true);
  if (!ticket || ticket->user_id != user_id) co_return TicketClose::not_found;
  if (!co_await support::Tickets::close(tx, ticket_id, "user")) co_return TicketClose::already_closed;
  if (ticket->topic_id && settings.support_chat_id != 0) {
    std::string id = std::to_string(ticket_id);
    co_await support::say_in_topic(tx, settings.support_chat_id, *ticket->topic_id,
                                   "✅ The user closed ticket #" + id + ".", "ticket-closed:" + id + ":" + key);
    co_await support::set_topic_state(tx, settings.support_chat_id, *ticket->topic_id, false,
                                      "ticket-close:" + id + ":" + key);
  }
  log::info("support", "ticket closed", {{"ticket_id", ticket_id}, {"by", "user"}});
  co_return TicketClose::closed;
}

}  // namespace vpnbot::shop
