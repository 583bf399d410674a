#pragma once
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::billing {

struct Referrer {
  int64_t user_id = 0;
  int level = 0;  // 1 = the user's direct referrer
};

struct ReferralStats {
  std::vector<int64_t> per_level;  // invited users per level (index 0 = level 1)
  int64_t earned = 0;              // kopecks, net of reversals
};

class Referrals {
 public:
  // The user's referrers up to `depth` levels in ONE recursive query, with a cycle guard (the path of visited
  // ids) so even a corrupted graph terminates. Banned referrers are skipped but the chain continues past them.
  static awaitable<std::vector<Referrer>> upline(db::Transaction& tx, int64_t user_id, int depth);
  // Counts per level with SQL aggregates (no referral list is loaded) and the rewards earned.
  static awaitable<ReferralStats> stats(db::Transaction& tx, int64_t user_id, int depth);
};

}  // namespace vpnbot::billing
