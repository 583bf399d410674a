#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::support {

struct Ticket {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string state;  // open, closed
  std::optional<int64_t> topic_id;
  std::string created_at;                  // "YYYY-MM-DD HH:MM" UTC
  std::optional<int64_t> waiting_minutes;  // how long the user's unanswered message has waited
  std::optional<std::string> closed_by;    // user, staff
  int64_t messages = 0;
};

// One message of a ticket, as it arrived (for relaying it on).
struct TicketMessage {
  int64_t id = 0;
  int64_t from_chat_id = 0;
  int64_t message_id = 0;
};

// Tickets and their messages. A user has at most one open ticket (a partial unique index); every statement that
// decides on the ticket's topic takes the ticket's row lock, so a message arriving while the topic is being made is
// relayed exactly once, by one side or the other.
class Tickets {
 public:
  // The user's open ticket, locked for this transaction, opened now if there was none (`opened` says so).
  static awaitable<Ticket> open_for(db::Transaction& tx, int64_t user_id, bool& opened);
  static awaitable<std::optional<Ticket>> open_of(db::Transaction& tx, int64_t user_id, bool lock = false);
  static awaitable<std::optional<Ticket>> get(db::Transaction& tx, int64_t ticket_id, bool lock = false);
  static awaitable<std::optional<Ticket>> by_topic(db::Transaction& tx, int64_t topic_id);
  // Records a message (false when this update was seen before). User messages start the waiting clock.
  static awaitable<std::optional<int64_t>> record(db::Transaction& tx, int64_t ticket_id, const std::string& direction,
                                                  int64_t from_chat_id, int64_t message_id, const std::string& kind,
                                                  const std::string& text);
  static awaitable<void> mark_relayed(db::Transaction& tx, int64_t message_row_id);
  // Sets the topic once (false when another run set one first); the caller holds the ticket's lock.
  static awaitable<bool> set_topic(db::Transaction& tx, int64_t ticket_id, int64_t topic_id);
  // The user's messages not relayed to the topic yet, oldest first.
  static awaitable<std::vector<TicketMessage>> unrelayed(db::Transaction& tx, int64_t ticket_id);
  static awaitable<bool> close(db::Transaction& tx, int64_t ticket_id, const std::string& by);
  // Reopens a closed ticket; false when it is open already or the user has opened another one since.
  static awaitable<bool> reopen(db::Transaction& tx, int64_t ticket_id);
  // Open tickets whose user has waited longer than `sla_minutes` by `now_ms` and whose staff were not reminded of
  // this wait yet; marked reminded as they are returned.
  static awaitable<std::vector<Ticket>> take_overdue(db::Transaction& tx, int sla_minutes, int64_t now_ms, int limit);
  // Newest first; state "open", "closed" or "" for all.
  static awaitable<std::vector<Ticket>> list(db::Transaction& tx, const std::string& state, int limit);
};

}  // namespace vpnbot::support
