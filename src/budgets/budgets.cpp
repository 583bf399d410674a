#include "budgets/budgets.hpp"

#include <algorithm>

namespace vpnbot::budgets {

namespace {

// Indexed by Kind: its name (the `user_budgets.kind` value) and its window.
constexpr const char* kNames[] = {"updates", "checkouts", "support_messages", "tickets", "config_requests"};
constexpr int kWindowSeconds[] = {60, 3600, 3600, 86400, 3600};

}  // namespace

const char* to_string(Kind kind) {
  return kNames[static_cast<size_t>(kind)];
}

Budget budget_of(Kind kind, const Settings& s) {
  const int limits[] = {s.updates_per_minute, s.checkouts_per_hour, s.support_messages_per_hour, s.tickets_per_day,
                        s.config_requests_per_hour};
  return {limits[static_cast<size_t>(kind)], kWindowSeconds[static_cast<size_t>(kind)]};
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
