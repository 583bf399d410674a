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

// A debit is taken only when the account holds enough: the row is locked and the condition re-checked against
// its latest version (READ COMMITTED re-evaluation), so concurrent debits can never drive a total below zero.
constexpr const char* kDebit = R"sql(
WITH locked AS (
  SELECT user_id FROM accounts
  WHERE user_id = $1 AND (CASE WHEN $2::text = 'balance' THEN balance ELSE points END) + $3::bigint >= 0
  FOR UPDATE),
entry AS (
  INSERT INTO ledger (user_id, account, amount, source, reference, actor_id, note)
  SELECT $1, $2, $3, $4, $5, $6, NULLIF($7, '') FROM locked
  ON CONFLICT (source, reference) DO NOTHING
  RETURNING user_id, account, amount)
UPDATE accounts a SET balance = a.balance + CASE WHEN e.account = 'balance' THEN e.amount ELSE 0 END,
                      points = a.points + CASE WHEN e.account = 'points' THEN e.amount ELSE 0 END
FROM entry e WHERE a.user_id = e.user_id
RETURNING a.user_id)sql";

}  // namespace

awaitable<bool> Ledger::post(db::Transaction& tx, const LedgerEntry& e) {
  if (e.amount == 0) co_return false;
  auto r = co_await tx.exec(e.amount < 0 ? kDebit : kPost, e.user_id, e.account, e.amount, e.source, e.reference,
                            e.actor_id, e.note);
  co_return !r.empty();
}

awaitable<bool> Ledger::exists(db::Transaction& tx, const std::string& source, const std::string& reference) {
  auto r = co_await tx.exec("SELECT 1 FROM ledger WHERE source = $1 AND reference = $2", source, reference);
  co_return !r.empty();
}

awaitable<std::optional<int64_t>> Ledger::exchange_points(db::Transaction& tx, int64_t user_id,
                                                          const std::string& reference, int64_t kopecks_per_point) {
  auto totals = co_await Ledger::totals(tx, user_id);
  if (totals.points <= 0) co_return std::nullopt;
  // The debit is conditional: when a concurrent debit took some points meanwhile, nothing is exchanged.
  LedgerEntry take{user_id, "points", -totals.points, "exchange", reference + ":points", {}, ""};
  if (!co_await post(tx, take)) co_return std::nullopt;
  LedgerEntry give{user_id, "balance", totals.points * kopecks_per_point, "exchange", reference + ":balance", {}, ""};
  co_await post(tx, give);
  co_return totals.points;
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
  auto originals = co_await tx.exec(
      "SELECT id, user_id, account, amount, source, reference FROM ledger "
      "WHERE source = ANY($1::text[]) AND (reference = $2 OR reference LIKE $2 || ':%') ORDER BY user_id, id",
      list, reference);
  int64_t reversed = 0;
  for (int i = 0; i < originals.rows(); ++i) {
    int64_t id = originals.get<int64_t>(i, 0), user_id = originals.get<int64_t>(i, 1);
    std::string account = originals.get<std::string>(i, 2);
    int64_t amount = originals.get<int64_t>(i, 3);
    std::string source = originals.get<std::string>(i, 4) + "_reversal", ref = originals.get<std::string>(i, 5);
    if (co_await exists(tx, source, ref)) continue;  // reversed before
    LedgerEntry back{user_id, account, -amount, source, ref, {}, "reversal of entry " + std::to_string(id)};
    if (co_await post(tx, back)) {
      ++reversed;
      continue;
    }
    // Already spent (a cashback used for a renewal, a referral reward paid out): take back what is left, so the
    // total stays >= 0 and the ledger still adds up; the shortfall is in the note for the operator.
    auto held = co_await tx.exec(
        "SELECT CASE WHEN $2::text = 'balance' THEN balance ELSE points END FROM accounts WHERE user_id = $1 "
        "FOR UPDATE",
        user_id, account);
    int64_t available = held.empty() ? 0 : held.get<int64_t>(0, 0);
    if (available <= 0) continue;
    back.amount = -std::min(available, amount);
    back.note = "partial reversal of entry " + std::to_string(id) + ": " + std::to_string(amount - available) +
                " already spent";
    if (co_await post(tx, back)) ++reversed;
  }
  co_return reversed;
}

awaitable<Totals> Ledger::totals(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec("SELECT balance, points FROM accounts WHERE user_id = $1", user_id);
  if (r.empty()) co_return Totals{};
  co_return Totals{r.get<int64_t>(0, 0), r.get<int64_t>(0, 1)};
}

awaitable<std::vector<LedgerLine>> Ledger::recent(db::Transaction& tx, int64_t user_id, int limit) {
  auto r = co_await tx.exec(
      "SELECT account, source, coalesce(note, ''), to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), "
      "amount "
      "FROM ledger WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
      user_id, limit);
  co_return r.read_all<LedgerLine>(
      [](LedgerLine& line) { return std::tie(line.account, line.source, line.note, line.created_at, line.amount); });
}

}  // namespace vpnbot::billing
