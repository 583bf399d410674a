#include "billing/ledger.hpp"

namespace vpnbot::billing {
namespace {

// The entry and the total move in one statement: when the entry already exists nothing is inserted, so the
// total is not touched either.
constexpr const char* kPost = R"sql(
WITH entry AS (
  INSERT INTO ledger (user_id, account, amount, source, reference, actor_id, note)
  VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, ''))
  ON CONFLICT (source, reference) DO NOTHING
  RETURNING user_id, account, amount)
INSERT INTO accounts AS a (user_id, balance, points)
SELECT user_id, CASE WHEN account = 'balance' THEN amount ELSE 0 END, CASE WHEN account = 'points' THEN amount ELSE 0 END
FROM entry
ON CONFLICT (user_id) DO UPDATE SET balance = a.balance + EXCLUDED.balance, points = a.points + EXCLUDED.points
RETURNING a.user_id)sql";

constexpr const char* kReverse = R"sql(
WITH entries AS (
  INSERT INTO ledger (user_id, account, amount, source, reference, note)
  SELECT user_id, account, -amount, source || '_reversal', reference, 'reversal of entry ' || id
  FROM ledger WHERE source = ANY($1::text[]) AND (reference = $2 OR reference LIKE $2 || ':%')
  ON CONFLICT (source, reference) DO NOTHING
  RETURNING user_id, account, amount),
per_user AS (
  SELECT user_id, sum(amount) FILTER (WHERE account = 'balance') AS balance,
         sum(amount) FILTER (WHERE account = 'points') AS points, count(*) AS n
  FROM entries GROUP BY user_id),
moved AS (
  UPDATE accounts a SET balance = a.balance + coalesce(p.balance, 0), points = a.points + coalesce(p.points, 0)
  FROM per_user p WHERE a.user_id = p.user_id RETURNING p.n)
SELECT coalesce(sum(n), 0) FROM moved)sql";

}  // namespace

awaitable<bool> Ledger::post(db::Transaction& tx, const LedgerEntry& e) {
  if (e.amount == 0) co_return false;
  auto r = co_await tx.exec(kPost, e.user_id, e.account, e.amount, e.source, e.reference, e.actor_id, e.note);
  co_return !r.empty();
}

awaitable<bool> Ledger::spend_balance(db::Transaction& tx, int64_t user_id, int64_t amount, std::string source,
                                      std::string reference) {
  if (amount <= 0) throw std::invalid_argument("spend_balance: amount must be positive");
  // The conditional UPDATE is the guard against spending the same money twice from two transactions.
  auto taken = co_await tx.exec("UPDATE accounts SET balance = balance - $2 WHERE user_id = $1 AND balance >= $2",
                                user_id, amount);
  if (taken.affected() == 0) co_return false;
  auto r = co_await tx.exec(
      "INSERT INTO ledger (user_id, account, amount, source, reference) VALUES ($1, 'balance', $2, $3, $4) "
      "ON CONFLICT (source, reference) DO NOTHING",
      user_id, -amount, source, reference);
  // A replayed spend must not take the money again: the caller's transaction is rolled back.
  if (r.affected() == 0) throw std::logic_error("ledger entry " + source + ":" + reference + " already exists");
  co_return true;
}

awaitable<int64_t> Ledger::reverse(db::Transaction& tx, const std::vector<std::string>& sources,
                                   const std::string& reference) {
  auto list = db::to_text_array(sources);
  auto r = co_await tx.exec(kReverse, list, reference);
  co_return r.get<int64_t>(0, 0);
}

awaitable<Totals> Ledger::totals(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec("SELECT balance, points FROM accounts WHERE user_id = $1", user_id);
  if (r.empty()) co_return Totals{};
  co_return Totals{r.get<int64_t>(0, 0), r.get<int64_t>(0, 1)};
}

awaitable<std::vector<LedgerLine>> Ledger::recent(db::Transaction& tx, int64_t user_id, int limit) {
  auto r = co_await tx.exec(
      "SELECT account, source, coalesce(note, ''), to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), amount "
      "FROM ledger WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
      user_id, limit);
  std::vector<LedgerLine> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.get<std::string>(i, 0), r.get<std::string>(i, 1), r.get<std::string>(i, 2),
                   r.get<std::string>(i, 3), r.get<int64_t>(i, 4)});
  co_return out;
}

}  // namespace vpnbot::billing
