#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::vpn {

// One peer's counters as the interface reports them (they restart from zero with wireguard-go or the peer).
struct PeerCounters {
  std::string public_key;
  int64_t last_handshake_sec = 0;
  int64_t rx_bytes = 0;
  int64_t tx_bytes = 0;
};

// A subscription's WireGuard traffic in its current period.
struct TrafficUsage {
  int64_t used_bytes = 0;
  std::optional<int64_t> limit_bytes;  // the plan's allowance plus top-ups; nullopt: unlimited
  int64_t extra_bytes = 0;             // what top-ups added this period (part of limit_bytes)
  bool blocked = false;                // the configs are off for the quota
};

constexpr int64_t kBytesPerGb = 1073741824;

// WireGuard traffic accounting and quotas (docs/ARCHITECTURE.md, "Traffic quotas"). Usage is measured from the
// interface's counters against a baseline per peer, so a restarted agent counts nothing twice and a counter that
// went back to zero (wireguard-go restarted, the peer re-added) is counted from zero.
class Traffic {
 public:
  // Records one reading of a node's counters: each peer's growth since its baseline is added to the config's and
  // its subscription's usage, and the baseline moves to the reading. A subscription past its quota gets its
  // WireGuard configs switched off and one `vpn.traffic_used_up` notice per period. Returns the users switched off.
  static awaitable<std::vector<int64_t>> record(db::Transaction& tx, int64_t node_id,
                                                const std::vector<PeerCounters>& readings);
  // The counters of these peers (or, with no ids, of the whole node) are about to restart from zero.
  static awaitable<void> reset_baselines(db::Transaction& tx, int64_t node_id, const std::vector<int64_t>& peer_ids);
  static awaitable<void> reset_node_baselines(db::Transaction& tx, int64_t node_id);
  // A paid period begins: usage and top-ups back to zero, the plan's allowance, the quota block lifted.
  static awaitable<void> start_period(db::Transaction& tx, int64_t user_id, int64_t plan_id);
  // A top-up adds to the current period's allowance, on WireGuard and on the user's Xray accounts (whose panel limit
  // grows by as much). The WireGuard configs come back on when it covers the usage (and the subscription is active
  // and the user not banned). Returns whether they did.
  static awaitable<bool> add_extra(db::Transaction& tx, int64_t user_id, int64_t bytes);
  // A refunded top-up: taken back; the configs go off again when the usage is past the smaller allowance.
  static awaitable<void> take_back_extra(db::Transaction& tx, int64_t user_id, int64_t bytes);
  static awaitable<std::optional<TrafficUsage>> usage(db::Transaction& tx, int64_t user_id);

 private:
  static awaitable<bool> add_extra_to_wireguard(db::Transaction& tx, int64_t user_id, int64_t bytes);
};

// "▰▰▰▱▱▱▱▱▱▱": ten cells filled in proportion to used/limit.
std::string usage_bar(int64_t used, int64_t limit);

}  // namespace vpnbot::vpn
