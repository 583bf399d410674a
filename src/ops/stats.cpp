#include "ops/stats.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <map>

#include "billing/money.hpp"

namespace vpnbot::ops {

using nlohmann::json;

const std::vector<StatsQuery>& stats_queries() {
  static const std::vector<StatsQuery> queries{
      // Index-only scan of the primary key once the table is vacuumed; a sequential pass otherwise.
      {"users_total", "SELECT count(*) FROM users", true},
      {"users_new",
       "SELECT count(*) FILTER (WHERE created_at >= date_trunc('day', now())), "
       "count(*) FILTER (WHERE created_at >= now() - interval '7 days'), count(*) "
       "FROM users WHERE created_at >= now() - interval '30 days'"},
      {"users_blocked", "SELECT count(*) FROM users WHERE NOT reachable"},
      {"users_banned", "SELECT count(*) FROM users WHERE banned"},
      {"subscriptions_active",
       "SELECT count(*), count(*) FILTER (WHERE trial_only) FROM subscriptions WHERE expires_at > now()"},
      {"trials_total", "SELECT count(*) FROM trials", true},
      {"trials_30d", "SELECT count(*) FROM trials WHERE granted_at >= now() - interval '30 days'"},
      // A probe of each new user's orders through orders_user (LIMIT 1 keeps it a per-user index lookup
      // instead of a hash join over every order).
      {"conversion_30d",
       "SELECT count(*) FROM users u WHERE u.created_at >= now() - interval '30 days' AND coalesce("
       "(SELECT true FROM orders o WHERE o.user_id = u.id AND o.paid_at IS NOT NULL LIMIT 1), false)"},
      // Refunded orders keep paid_at but are not revenue.
      {"revenue_30d",
       "SELECT to_char(date_trunc('day', paid_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD'), provider, currency, count(*), "
       "sum(amount)::bigint, sum(value_rub)::bigint FROM orders "
       "WHERE paid_at >= now() - interval '30 days' AND state = 'paid' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"},
      {"nodes",
       "SELECT n.name, n.state, "
       "(SELECT count(*) FROM vpn_peers p WHERE p.node_id = n.id AND p.state = 'active'), "
       "(SELECT count(*) FROM vpn_peers p WHERE p.node_id = n.id AND p.state <> 'removed'), "
       "(2::bigint ^ (32 - masklen(n.subnet_v4)))::bigint - 3, "
       "(SELECT count(*) FROM vpn_free_addresses f WHERE f.node_id = n.id) FROM vpn_nodes n ORDER BY n.name"},
  };
  return queries;
}

namespace {

const std::string& sql_of(const std::string& name) {
  for (const auto& q : stats_queries())
    if (q.name == name) return q.sql;
  throw std::logic_error("no stats query " + name);
}

// Sums of the revenue rows newer than `since` (a YYYY-MM-DD day), by provider and currency.
std::map<std::pair<std::string, std::string>, RevenueRow> totals_since(const std::vector<RevenueRow>& rows,
                                                                       const std::string& since) {
  std::map<std::pair<std::string, std::string>, RevenueRow> out;
  for (const auto& r : rows) {
    if (r.day < since) continue;
    auto& t = out[{r.provider, r.currency}];
    t.provider = r.provider;
    t.currency = r.currency;
    t.orders += r.orders;
    t.amount += r.amount;
    t.value_rub += r.value_rub;
  }
  return out;
}

std::string amount_text(const RevenueRow& r) {
  return r.currency == "XTR" ? std::to_string(r.amount) + " ⭐" : billing::format_rub(r.amount);
}

std::string day_before(int days) {
  auto t = std::chrono::system_clock::now() - std::chrono::hours(24 * days);
  return fmt::format("{:%Y-%m-%d}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

}  // namespace

namespace {
// One aggregate row of a named query into `fields`.
template <typename... Fields>
awaitable<void> read_counts(db::Transaction& tx, const char* query, Fields&... fields) {
  auto r = co_await tx.exec(sql_of(query));
  r.read(0, fields...);
}
}  // namespace

awaitable<Stats> collect_stats(db::Transaction& tx) {
  Stats s;
  co_await read_counts(tx, "users_total", s.users_total);
  co_await read_counts(tx, "users_new", s.users_today, s.users_7d, s.users_30d);
  co_await read_counts(tx, "users_blocked", s.blocked);
  co_await read_counts(tx, "users_banned", s.banned);
  co_await read_counts(tx, "subscriptions_active", s.active_subscriptions, s.active_trials);
  co_await read_counts(tx, "trials_total", s.trials_total);
  co_await read_counts(tx, "trials_30d", s.trials_30d);
  co_await read_counts(tx, "conversion_30d", s.payers_of_new_30d);
  auto r = co_await tx.exec(sql_of("revenue_30d"));
  s.revenue = r.read_all<RevenueRow>([](RevenueRow& row) {
    return std::tie(row.day, row.provider, row.currency, row.orders, row.amount, row.value_rub);
  });
  r = co_await tx.exec(sql_of("nodes"));
  s.nodes = r.read_all<NodeStats>([](NodeStats& node) {
    return std::tie(node.name, node.state, node.active_peers, node.live_peers, node.pool_size, node.pool_free);
  });
  co_return s;
}

json Stats::to_json() const {
  json revenue_rows = json::array();
  for (const auto& r : revenue)
    revenue_rows.push_back({{"day", r.day},
                            {"provider", r.provider},
                            {"currency", r.currency},
                            {"orders", r.orders},
                            {"amount", r.amount},
                            {"value_rub", billing::rub_decimal(r.value_rub)}});
  json node_rows = json::array();
  for (const auto& n : nodes)
    node_rows.push_back({{"name", n.name},
                         {"state", n.state},
                         {"active_peers", n.active_peers},
                         {"live_peers", n.live_peers},
                         {"pool_size", n.pool_size},
                         {"pool_free", n.pool_free}});
  return {{"users",
           {{"total", users_total},
            {"new_today", users_today},
            {"new_7d", users_7d},
            {"new_30d", users_30d},
            {"reachable", users_total - blocked},
            {"blocked", blocked},
            {"banned", banned}}},
          {"subscriptions", {{"active", active_subscriptions}, {"active_trials", active_trials}}},
          {"trials", {{"total", trials_total}, {"last_30d", trials_30d}}},
          {"conversion_30d", {{"new_users", users_30d}, {"paid", payers_of_new_30d}}},
          {"revenue", revenue_rows},
          {"nodes", node_rows}};
}

std::string Stats::render(bool html) const {
  auto bold = [&](const std::string& s) { return html ? "<b>" + s + "</b>" : s; };
  auto percent = [](int64_t part, int64_t whole) {
    return whole ? fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole))
                 : std::string("—");
  };
  std::string out = bold("Users") + "\n";
  out += fmt::format("total {}, new today {}, 7 days {}, 30 days {}\n", users_total, users_today, users_7d, users_30d);
  out += fmt::format("reachable {}, blocked the bot {}, banned {}\n", users_total - blocked, blocked, banned);
  out += "\n" + bold("Subscriptions") + "\n";
  out += fmt::format("active {} (of them trials {}); trials ever {}, last 30 days {}\n", active_subscriptions,
                     active_trials, trials_total, trials_30d);
  out += fmt::format("conversion (joined in 30 days and paid): {} of {} = {}\n", payers_of_new_30d, users_30d,
                     percent(payers_of_new_30d, users_30d));
  for (int days : {7, 30}) {
    out += "\n" + bold(fmt::format("Revenue, {} days", days)) + "\n";
    auto totals = totals_since(revenue, day_before(days - 1));
    if (totals.empty()) out += "none\n";
    int64_t worth = 0;
    for (const auto& [key, t] : totals) {
      out += fmt::format("{}: {} orders, {}\n", t.provider, t.orders, amount_text(t));
      worth += t.value_rub;
    }
    if (!totals.empty()) out += "worth " + billing::format_rub(worth) + "\n";
  }
  out += "\n" + bold("By day (7 days)") + "\n";
  std::string since = day_before(6);
  for (const auto& r : revenue)
    if (r.day >= since) out += fmt::format("{} {}: {} × {}\n", r.day, r.provider, r.orders, amount_text(r));
  out += "\n" + bold("Nodes") + "\n";
  if (nodes.empty()) out += "none\n";
  for (const auto& n : nodes)
    out += fmt::format("{} ({}): {} active / {} configs, pool {} of {} used ({})\n", n.name, n.state, n.active_peers,
                       n.live_peers, n.pool_size - n.pool_free, n.pool_size,
                       percent(n.pool_size - n.pool_free, n.pool_size));
  return out;
}

}  // namespace vpnbot::ops
