#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::ops {

struct RevenueRow {
  std::string day;  // YYYY-MM-DD (UTC)
  std::string provider, currency;
  int64_t orders = 0;
  int64_t amount = 0;     // minor units of currency (kopecks or stars)
  int64_t value_rub = 0;  // kopecks: what the orders were worth
};

struct NodeStats {
  std::string name, state;
  int64_t active_peers = 0, live_peers = 0;  // live = not removed
  int64_t pool_size = 0, pool_free = 0;
};

struct Stats {
  int64_t users_total = 0, users_today = 0, users_7d = 0, users_30d = 0;
  int64_t blocked = 0, banned = 0;  // reachable = total - blocked
  int64_t active_subscriptions = 0, active_trials = 0;
  int64_t trials_total = 0, trials_30d = 0;
  int64_t payers_of_new_30d = 0;    // of the users who joined in the last 30 days, how many paid: conversion
  std::vector<RevenueRow> revenue;  // last 30 days by day and provider, oldest first
  std::vector<NodeStats> nodes;

  nlohmann::json to_json() const;
  // The admin panel's and the CLI's text (HTML when `html`).
  std::string render(bool html) const;
};

struct StatsQuery {
  std::string name, sql;
  bool whole_table = false;  // a total over every row (one pass is inherent); all others must use an index
};

// Every statistic is an SQL aggregate over indexed columns (time windows, partial indexes): nothing is loaded
// row by row into the process. The list is public so a test can EXPLAIN each query on a large seeded database.
const std::vector<StatsQuery>& stats_queries();

awaitable<Stats> collect_stats(db::Transaction& tx);

}  // namespace vpnbot::ops
