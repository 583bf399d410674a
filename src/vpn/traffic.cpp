#include "vpn/traffic.hpp"

#include <cmath>

#include "core/log.hpp"
#include "jobs/queue.hpp"
#include "vpn/remnawave/accounts.hpp"

namespace vpnbot::vpn {
namespace {

// One statement per reading (idle peers are not written): the growth of each counter since its baseline (a counter
// below its baseline went back to zero, so all of it is new), added to the config and summed into its user's
// subscription. Only one agent writes a node's counters (its lease), and the row locks order it with a renewal
// resetting the period. (`peers` runs although nothing reads it: PostgreSQL executes every data-modifying WITH.)
constexpr const char* kRecordSql = R"sql(
WITH reading AS (
  SELECT * FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS r(public_key, handshake, rx, tx)),
counted AS (
  SELECT p.id, p.user_id, r.handshake, r.rx, r.tx,
         (CASE WHEN r.rx >= p.rx_bytes THEN r.rx - p.rx_bytes ELSE r.rx END) +
         (CASE WHEN r.tx >= p.tx_bytes THEN r.tx - p.tx_bytes ELSE r.tx END) AS growth
  FROM vpn_peers p JOIN reading r ON r.public_key = p.public_key
  WHERE p.node_id = $1 AND NOT p.address_released AND (r.rx <> p.rx_bytes OR r.tx <> p.tx_bytes)
  FOR UPDATE OF p),
peers AS (
  UPDATE vpn_peers p SET last_handshake_at = CASE WHEN c.handshake > 0 THEN to_timestamp(c.handshake) END,
         rx_bytes = c.rx, tx_bytes = c.tx, used_bytes = p.used_bytes + c.growth
  FROM counted c WHERE p.id = c.id
  RETURNING p.id),
per_user AS (
  SELECT user_id, sum(growth)::bigint AS growth FROM counted GROUP BY user_id HAVING sum(growth) > 0),
subs AS (
  UPDATE subscriptions s SET traffic_used_bytes = s.traffic_used_bytes + u.growth
  FROM per_user u WHERE s.user_id = u.user_id
  RETURNING s.id, s.user_id, s.traffic_period,
            s.traffic_limit_bytes IS NOT NULL
            AND s.traffic_used_bytes >= s.traffic_limit_bytes + s.traffic_extra_bytes AS over_quota)
SELECT id, user_id, traffic_period FROM subs WHERE over_quota
)sql";

// Switches off a subscription's WireGuard configs for its quota (Xray accounts have the panel's own limit).
awaitable<int64_t> block(db::Transaction& tx, int64_t user_id) {
  co_await tx.exec("UPDATE subscriptions SET traffic_blocked = true, updated_at = now() WHERE user_id = $1", user_id);
  auto r = co_await tx.exec(
      "UPDATE vpn_peers SET state = 'disabled', revision = vpn_next_revision(), updated_at = now() "
      "WHERE user_id = $1 AND state = 'active'",
      user_id);
  co_return r.affected();
}

}  // namespace

awaitable<std::vector<int64_t>> Traffic::record(db::Transaction& tx, int64_t node_id,
                                                const std::vector<PeerCounters>& readings) {
  std::vector<int64_t> switched_off;
  if (readings.empty()) co_return switched_off;
  std::vector<std::string> keys;
  std::vector<int64_t> handshakes, rx, tx_bytes;
  for (const auto& r : readings) {
    keys.push_back(r.public_key);
    handshakes.push_back(r.last_handshake_sec);
    rx.push_back(r.rx_bytes);
    tx_bytes.push_back(r.tx_bytes);
  }
  auto over = co_await tx.exec(kRecordSql, node_id, db::to_text_array(keys), db::to_bigint_array(handshakes),
                               db::to_bigint_array(rx), db::to_bigint_array(tx_bytes));
  for (int i = 0; i < over.rows(); ++i) {
    int64_t subscription_id = over.get<int64_t>(i, 0), user_id = over.get<int64_t>(i, 1);
    int64_t period = over.get<int64_t>(i, 2);
    int64_t configs = co_await block(tx, user_id);
    // Any growth past the quota lands here again (e.g. an admin switched a config on): the configs go off each
    // time, the notice is sent once per period.
    jobs::NewJob notice{
        .kind = "vpn.traffic_used_up",
        .payload = {{"user_id", user_id}},
        .unique_key = "traffic-used-up:" + std::to_string(subscription_id) + ":" + std::to_string(period)};
    co_await jobs::Queue::enqueue(tx, notice);
    if (configs > 0) {
      switched_off.push_back(user_id);
      log::info("vpn", "traffic quota used up: configs switched off",
                {{"user_id", user_id}, {"subscription_id", subscription_id}, {"configs", configs}});
    }
  }
  co_return switched_off;
}

awaitable<void> Traffic::reset_baselines(db::Transaction& tx, int64_t node_id, const std::vector<int64_t>& peer_ids) {
  if (peer_ids.empty()) co_return;
  co_await tx.exec("UPDATE vpn_peers SET rx_bytes = 0, tx_bytes = 0 WHERE node_id = $1 AND id = ANY($2::bigint[])",
                   node_id, db::to_bigint_array(peer_ids));
}

awaitable<void> Traffic::reset_node_baselines(db::Transaction& tx, int64_t node_id) {
  co_await tx.exec(
      "UPDATE vpn_peers SET rx_bytes = 0, tx_bytes = 0 WHERE node_id = $1 AND (rx_bytes <> 0 OR tx_bytes <> 0)",
      node_id);
}

awaitable<void> Traffic::start_period(db::Transaction& tx, int64_t user_id, int64_t plan_id) {
  co_await tx.exec(
      "UPDATE subscriptions s SET traffic_used_bytes = 0, traffic_extra_bytes = 0, traffic_blocked = false, "
      "traffic_period = s.traffic_period + 1, traffic_limit_bytes = p.traffic_gb::bigint * $3 "
      "FROM plans p WHERE s.user_id = $1 AND p.id = $2",
      user_id, plan_id, kBytesPerGb);
}

awaitable<bool> Traffic::add_extra(db::Transaction& tx, int64_t user_id, int64_t bytes) {
  bool unblocked = co_await add_extra_to_wireguard(tx, user_id, bytes);
  co_await remnawave::Accounts::ask_sync(tx, user_id);  // the Xray accounts' limit grows too (a trigger bumped them)
  co_return unblocked;
}

awaitable<bool> Traffic::add_extra_to_wireguard(db::Transaction& tx, int64_t user_id, int64_t bytes) {
  auto r = co_await tx.exec(
      "WITH before AS (SELECT id, traffic_blocked FROM subscriptions WHERE user_id = $1 FOR UPDATE) "
      "UPDATE subscriptions s SET traffic_extra_bytes = s.traffic_extra_bytes + $2, "
      "  traffic_blocked = s.traffic_blocked AND s.traffic_limit_bytes IS NOT NULL "
      "    AND s.traffic_used_bytes >= s.traffic_limit_bytes + s.traffic_extra_bytes + $2, updated_at = now() "
      "FROM before b WHERE s.id = b.id "
      "RETURNING b.traffic_blocked AND NOT s.traffic_blocked, s.expires_at > now()",
      user_id, bytes);
  if (r.empty() || !r.get<bool>(0, 0)) co_return false;
  bool active = r.get<bool>(0, 1);
  auto banned = co_await tx.exec("SELECT banned FROM users WHERE id = $1", user_id);
  if (!active || (!banned.empty() && banned.get<bool>(0, 0))) co_return false;
  co_await tx.exec(
      "UPDATE vpn_peers SET state = 'active', revision = vpn_next_revision(), updated_at = now() "
      "WHERE user_id = $1 AND state = 'disabled'",
      user_id);
  log::info("vpn", "traffic topped up: configs switched back on", {{"user_id", user_id}, {"bytes", bytes}});
  co_return true;
}

awaitable<void> Traffic::take_back_extra(db::Transaction& tx, int64_t user_id, int64_t bytes) {
  auto r = co_await tx.exec(
      "UPDATE subscriptions SET traffic_extra_bytes = greatest(0, traffic_extra_bytes - $2), updated_at = now() "
      "WHERE user_id = $1 RETURNING traffic_limit_bytes IS NOT NULL "
      "  AND traffic_used_bytes >= traffic_limit_bytes + traffic_extra_bytes",
      user_id, bytes);
  if (!r.empty() && r.get<bool>(0, 0)) co_await block(tx, user_id);
  co_await remnawave::Accounts::ask_sync(tx, user_id);
}

awaitable<std::optional<TrafficUsage>> Traffic::usage(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec(
      "SELECT traffic_used_bytes, traffic_limit_bytes + traffic_extra_bytes, traffic_extra_bytes, traffic_blocked "
      "FROM subscriptions WHERE user_id = $1",
      user_id);
  if (r.empty()) co_return std::nullopt;
  TrafficUsage u;
  r.read(0, u.used_bytes, u.limit_bytes, u.extra_bytes, u.blocked);
  co_return u;
}

std::string usage_bar(int64_t used, int64_t limit) {
  int filled =
      limit > 0 ? static_cast<int>(std::lround(10.0 * std::min<double>(1.0, double(used) / double(limit)))) : 0;
  std::string bar;
  for (int i = 0; i < 10; ++i) bar += i < filled ? "▰" : "▱";
  return bar;
}

}  // namespace vpnbot::vpn
