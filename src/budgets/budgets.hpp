#pragma once
// Per-user budgets: each kind of work a user can ask for has a count per fixed window, kept in the database (one row
// per user and kind, so every worker process sees the same count and a flood costs no rows; housekeeping drops rows
// of windows long over), taken in the caller's transaction so work that rolls back gives its unit back.
#include <cstdint>
#include <string>

#include "budgets/settings.hpp"
#include "db/pool.hpp"

namespace vpnbot::budgets {

// The tables in budgets.cpp follow this order.
enum class Kind { updates, checkouts, support_messages, tickets, config_requests };
const char* to_string(Kind kind);

struct Spent {
  bool allowed = true;
  bool tell = false;      // over budget for the first time this window: say so (once)
  int retry_after_s = 0;  // until the window ends
};

// The limit and window of a kind under these settings.
struct Budget {
  int limit;
  int window_s;
};
Budget budget_of(Kind kind, const Settings& settings);

// Takes one unit of `user_id`'s budget of `kind`.
awaitable<Spent> spend(db::Transaction& tx, int64_t user_id, Kind kind, const Settings& settings);

}  // namespace vpnbot::budgets
