#include "support/tickets.hpp"

namespace vpnbot::support {
namespace {

constexpr const char* kTicketColumns =
    "t.id, t.user_id, t.state, t.topic_id, to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), "
    "(extract(epoch FROM now() - t.waiting_since) / 60)::bigint, t.closed_by, "
    "(SELECT count(*) FROM ticket_messages m WHERE m.ticket_id = t.id)";

auto ticket_fields(Ticket& t) {
  return std::tie(t.id, t.user_id, t.state, t.topic_id, t.created_at, t.waiting_minutes, t.closed_by, t.messages);
}

std::optional<Ticket> first(const db::Result& r) {
  auto all = r.read_all<Ticket>(ticket_fields);
  if (all.empty()) return std::nullopt;
  return all.front();
}

}  // namespace

awaitable<Ticket> Tickets::open_for(db::Transaction& tx, int64_t user_id, bool& opened) {
  const std::string select_open =
      std::string("SELECT ") + kTicketColumns + " FROM tickets t WHERE t.user_id = $1 AND t.state = 'open' FOR UPDATE";
  opened = false;
  if (auto open = first(co_await tx.exec(select_open, user_id))) co_return *open;
  // Numbers stay consecutive: the INSERT (which takes a number even when it conflicts) runs only when none is open.
  auto inserted = co_await tx.exec(
      "INSERT INTO tickets (user_id) VALUES ($1) ON CONFLICT (user_id) WHERE state = 'open' DO NOTHING RETURNING id",
      user_id);
  opened = !inserted.empty();
  auto ticket = first(co_await tx.exec(select_open, user_id));
  if (!ticket) throw std::runtime_error("no open ticket for user " + std::to_string(user_id) + " after opening one");
  co_return *ticket;
}

awaitable<std::optional<Ticket>> Tickets::open_of(db::Transaction& tx, int64_t user_id, bool lock) {
  auto r =
      co_await tx.exec(std::string("SELECT ") + kTicketColumns +
                           " FROM tickets t WHERE t.user_id = $1 AND t.state = 'open'" + (lock ? " FOR UPDATE" : ""),
                       user_id);
  co_return first(r);
}

awaitable<std::optional<Ticket>> Tickets::get(db::Transaction& tx, int64_t ticket_id, bool lock) {
  auto r = co_await tx.exec(
      std::string("SELECT ") + kTicketColumns + " FROM tickets t WHERE t.id = $1" + (lock ? " FOR UPDATE" : ""),
      ticket_id);
  co_return first(r);
}

awaitable<std::optional<Ticket>> Tickets::by_topic(db::Transaction& tx, int64_t topic_id) {
  auto r = co_await tx.exec(
      std::string("SELECT ") + kTicketColumns + " FROM tickets t WHERE t.topic_id = $1 FOR UPDATE", topic_id);
  co_return first(r);
}

awaitable<std::optional<int64_t>> Tickets::record(db::Transaction& tx, int64_t ticket_id, const std::string& direction,
                                                  int64_t from_chat_id, int64_t message_id, const std::string& kind,
                                                  const std::string& text) {
  auto r = co_await tx.exec(
      "INSERT INTO ticket_messages (ticket_id, direction, from_chat_id, message_id, kind, text) VALUES ($1, $2, $3, "
      "$4, $5, $6) ON CONFLICT (from_chat_id, message_id) DO NOTHING RETURNING id",
      ticket_id, direction, from_chat_id, message_id, kind, text);
  if (r.empty()) co_return std::nullopt;
  // A user's message starts the wait (unless one is already waiting); a staff answer ends it.
  if (direction == "user")
    co_await tx.exec("UPDATE tickets SET waiting_since = coalesce(waiting_since, now()) WHERE id = $1", ticket_id);
  else
    co_await tx.exec("UPDATE tickets SET waiting_since = NULL WHERE id = $1", ticket_id);
  co_return r.get<int64_t>(0, 0);
}

awaitable<void> Tickets::mark_relayed(db::Transaction& tx, int64_t message_row_id) {
  co_await tx.exec("UPDATE ticket_messages SET relayed = true WHERE id = $1", message_row_id);
}

awaitable<bool> Tickets::set_topic(db::Transaction& tx, int64_t ticket_id, int64_t topic_id) {
  co_return co_await tx.changed("UPDATE tickets SET topic_id = $2 WHERE id = $1 AND topic_id IS NULL", ticket_id,
                                topic_id);
}

awaitable<std::vector<TicketMessage>> Tickets::unrelayed(db::Transaction& tx, int64_t ticket_id) {
  auto r = co_await tx.exec(
      "SELECT id, from_chat_id, message_id FROM ticket_messages WHERE ticket_id = $1 AND direction = 'user' AND NOT "
      "relayed ORDER BY id",
      ticket_id);
  co_return r.read_all<TicketMessage>([](TicketMessage& m) { return std::tie(m.id, m.from_chat_id, m.message_id); });
}

awaitable<bool> Tickets::close(db::Transaction& tx, int64_t ticket_id, const std::string& by) {
  co_return co_await tx.changed(
      "UPDATE tickets SET state = 'closed', closed_at = now(), closed_by = $2, waiting_since = NULL WHERE id = $1 AND "
      "state = 'open'",
      ticket_id, by);
}

awaitable<bool> Tickets::reopen(db::Transaction& tx, int64_t ticket_id) {
  co_return co_await tx.changed(
      "UPDATE tickets t SET state = 'open', closed_at = NULL, closed_by = NULL WHERE id = $1 AND state = 'closed' AND "
      "NOT EXISTS (SELECT 1 FROM tickets o WHERE o.user_id = t.user_id AND o.state = 'open')",
      ticket_id);
}

awaitable<std::vector<Ticket>> Tickets::take_overdue(db::Transaction& tx, int sla_minutes, int64_t now_ms, int limit) {
  auto r = co_await tx.exec(std::string("WITH due AS (SELECT id FROM tickets WHERE state = 'open' AND topic_id IS NOT "
                                        "NULL AND waiting_since < to_timestamp($2::double precision / 1000) - "
                                        "make_interval(mins => $1) AND sla_reminded_for IS DISTINCT FROM waiting_since "
                                        "ORDER BY waiting_since LIMIT $3 FOR UPDATE SKIP LOCKED), "
                                        "marked AS (UPDATE tickets SET sla_reminded_for = waiting_since WHERE id IN "
                                        "(SELECT id FROM due) RETURNING id) SELECT ") +
                                kTicketColumns + " FROM tickets t WHERE t.id IN (SELECT id FROM marked) ORDER BY t.id",
                            sla_minutes, now_ms, limit);
  co_return r.read_all<Ticket>(ticket_fields);
}

awaitable<std::vector<Ticket>> Tickets::list(db::Transaction& tx, const std::string& state, int limit) {
  auto r = co_await tx.exec(std::string("SELECT ") + kTicketColumns +
                                " FROM tickets t WHERE ($1 = '' OR t.state = $1) ORDER BY t.id DESC LIMIT $2",
                            state, limit);
  co_return r.read_all<Ticket>(ticket_fields);
}

}  // namespace vpnbot::support
