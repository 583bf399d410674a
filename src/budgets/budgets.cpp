#include "budgets/budgets.hpp"

#include <algorithm>

namespace vpnbot::budgets {

const char* to_string(Kind kind) {
  switch (kind) {
    case Kind::updates:
      return "updates";
    case Kind::checkouts:
      return "checkouts";
    case Kind::support_messages:
      return "support_messages";
    case Kind::tickets:
      return "tickets";
    case Kind::config_requests:
      return "config_requests";
  }
  return "?";
}

Budget budget_of(Kind kind, const Settings& s) {
  switch (kind) {
    case Kind::updates:
      return {s.updates_per_minute, 60};
    case Kind::checkouts:
      return {s.checkouts_per_hour, 3600};
    case Kind::support_messages:
      return {s.support_messages_per_hour, 3600};
    case Kind::tickets:
      return {s.tickets_per_day, 86400};
    case Kind::config_requests:
      return {s.config_requests_per_hour, 3600};
  }
  return {1, 60};
}

awaitable<Spent> spend(db::Transaction& tx, int64_t user_id, Kind kind, const Settings& settings) {
  Budget budget = budget_of(kind, settings);
  // A fixed window per row: a new one starts with the first unit after the last ended. Every ask in the window is
  // counted, so exactly one (the first past the limit) sees limit + 1: that one is told. The row lock orders
  // concurrent updates of one user.
  auto r = co_await tx.exec(R"sql(
INSERT INTO user_budgets AS b (user_id, kind, window_start, used) VALUES ($1, $2, now(), 1)
ON CONFLICT (user_id, kind) DO UPDATE SET
  window_start = CASE WHEN b.window_start <= now() - make_interval(secs => $3) THEN now() ELSE b.window_start END,
  used = CASE WHEN b.window_start <= now() - make_interval(secs => $3) THEN 1 ELSE b.used + 1 END
RETURNING used, ceil(extract(epoch FROM window_start + make_interval(secs => $3) - now()))::int)sql",
                            user_id, std::string(to_string(kind)), budget.window_s);
  int64_t used = r.get<int64_t>(0, 0);
  Spent spent;
  spent.allowed = used <= budget.limit;
  spent.tell = used == budget.limit + 1;
  spent.retry_after_s = std::max(1, r.get<int>(0, 1));
  co_return spent;
}

}  // namespace vpnbot::budgets
