#include "vpn/traffic.hpp"

#include <cmath>

#include "core/log.hpp"
#include "vpn/remnawave/accounts.hpp"

namespace vpnbot::vpn {
namespace {

// Switches off a subscription's WireGuard configs for its quota (migrations/0025, shared with the readings).
awaitable<int64_t> block(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec("SELECT vpn_traffic_block($1)", user_id);
  co_return r.get<int64_t>(0, 0);
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
  // The accounting is a function of the database (migrations/0025): a node's own role may call it for its own node
  // and may not touch subscriptions or jobs itself.
  auto over = co_await tx.exec("SELECT subscription_id, user_id, configs FROM vpn_record_readings($1, $2, $3, $4, $5)",
                               node_id, db::to_text_array(keys), db::to_bigint_array(handshakes),
                               db::to_bigint_array(rx), db::to_bigint_array(tx_bytes));
  for (int i = 0; i < over.rows(); ++i) {
    int64_t subscription_id = over.get<int64_t>(i, 0), user_id = over.get<int64_t>(i, 1);
    int64_t configs = over.get<int64_t>(i, 2);
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
