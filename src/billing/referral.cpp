#include "billing/referral.hpp"

namespace vpnbot::billing {

awaitable<std::vector<Referrer>> Referrals::upline(db::Transaction& tx, int64_t user_id, int depth) {
  std::vector<Referrer> out;
  if (depth <= 0) co_return out;
  auto r = co_await tx.exec(R"sql(
WITH RECURSIVE upline (id, level, path) AS (
  SELECT u.referrer_id, 1, ARRAY[u.id] FROM users u WHERE u.id = $1 AND u.referrer_id IS NOT NULL
  UNION ALL
  SELECT r.referrer_id, up.level + 1, up.path || r.id
  FROM upline up JOIN users r ON r.id = up.id
  WHERE up.level < $2 AND r.referrer_id IS NOT NULL AND r.referrer_id <> ALL (up.path || r.id)
)
SELECT up.id, up.level FROM upline up JOIN users u ON u.id = up.id
WHERE NOT u.banned AND up.id <> ALL (up.path)
ORDER BY up.level)sql",
                            user_id, depth);
  for (int i = 0; i < r.rows(); ++i) out.push_back({r.get<int64_t>(i, 0), r.get<int>(i, 1)});
  co_return out;
}

awaitable<ReferralStats> Referrals::stats(db::Transaction& tx, int64_t user_id, int depth) {
  ReferralStats s;
  s.per_level.assign(std::max(depth, 0), 0);
  if (depth > 0) {
    auto r = co_await tx.exec(R"sql(
WITH RECURSIVE down (id, level, path) AS (
  SELECT u.id, 1, ARRAY[$1::bigint, u.id] FROM users u WHERE u.referrer_id = $1
  UNION ALL
  SELECT u.id, d.level + 1, d.path || u.id
  FROM down d JOIN users u ON u.referrer_id = d.id
  WHERE d.level < $2 AND u.id <> ALL (d.path)
)
SELECT level, count(*) FROM down GROUP BY level ORDER BY level)sql",
                              user_id, depth);
    for (int i = 0; i < r.rows(); ++i) {
      int level = r.get<int>(i, 0);
      if (level >= 1 && level <= depth) s.per_level[level - 1] = r.get<int64_t>(i, 1);
    }
  }
  auto e = co_await tx.exec(
      "SELECT coalesce(sum(amount), 0) FROM ledger WHERE user_id = $1 AND source IN ('referral', 'referral_reversal')",
      user_id);
  s.earned = e.get<int64_t>(0, 0);
  co_return s;
}

}  // namespace vpnbot::billing
