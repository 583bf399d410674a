#pragma once
// The support use cases of the shop core: a user writes to support (their open ticket, or a new one when they asked
// on a Support screen), and closes their ticket. Ownership, the one-open-ticket rule and the per-user budgets of
// support messages and new tickets are decided here; the staff work in a forum topic of the support group.
#include <optional>
#include <string>

#include "budgets/budgets.hpp"
#include "db/pool.hpp"
#include "support/tickets.hpp"

namespace vpnbot::shop {

struct SupportSettings {
  int64_t support_chat_id = 0;  // the forum supergroup of the staff (0: no support)
  budgets::Settings budgets;
};

// One message from the user: what it carries, and where the support group copies it from.
struct SupportMessage {
  std::string kind;  // text, photo, document
  std::string text;  // the text or caption, for the ticket's record
  int64_t from_chat_id = 0, message_id = 0;
};

enum class SupportOutcome {
  not_for_support,  // no ticket is open and the user did not ask to write one: the message is something else
  over_budget,      // `budget` says which, `retry_after_s`, `tell` (the first refusal of the window)
  recorded,         // in `ticket` (opened by it when `opened`), relayed to its topic or with the topic's job
  replayed,         // this message was recorded before: nothing more
};

struct SupportWrite {
  SupportOutcome outcome = SupportOutcome::not_for_support;
  std::optional<support::Ticket> ticket;
  bool opened = false;
  budgets::Kind budget = budgets::Kind::support_messages;
  int retry_after_s = 0;
  bool tell = true;
};

// `asked`: the user is writing on the Support screen (a message then opens a ticket when none is open).
awaitable<SupportWrite> write_to_support(db::Transaction& tx, SupportSettings settings, int64_t user_id, bool asked,
                                         SupportMessage message);

enum class TicketClose { closed, not_found, already_closed };

// Closes the user's own ticket (someone else's id finds nothing); the staff see it in the topic. `key` makes the
// topic's note once however often the request is replayed.
awaitable<TicketClose> close_own_ticket(db::Transaction& tx, SupportSettings settings, int64_t user_id,
                                        int64_t ticket_id, std::string key);

}  // namespace vpnbot::shop
