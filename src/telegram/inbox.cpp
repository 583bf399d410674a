#include "telegram/inbox.hpp"

#include "core/log.hpp"

namespace vpnbot::telegram {
namespace {

// NOTIFY wakes idle dispatchers at commit; a redelivered update inserts nothing and wakes nobody.
constexpr const char* kStore = R"sql(
WITH ins AS (
  INSERT INTO tg_inbox (update_id, chat_id, kind, payload) VALUES ($1, $2, $3, $4)
  ON CONFLICT (update_id) DO NOTHING
  RETURNING update_id
)
SELECT update_id, pg_notify('vpnbot_inbox', '') FROM ins)sql";

}  // namespace

awaitable<bool> Inbox::store(const json& update) {
  UpdateKey key = classify_update(update);
  auto r = co_await pool_.exec(kStore, key.update_id, key.chat_id, key.kind, update);
  co_return r.rows() == 1;
}

awaitable<bool> Inbox::store(db::Transaction& tx, const UpdateKey& key, const json& update) {
  auto r = co_await tx.exec(kStore, key.update_id, key.chat_id, key.kind, update);
  co_return r.rows() == 1;
}

awaitable<void> Inbox::store_malformed(std::string source, std::string reason, std::string body) {
  if (body.size() > 65536) body.resize(65536);
  // Invalid UTF-8 would be refused by a text column: keep the bytes readable instead of losing the row.
  for (auto& c : body)
    if (static_cast<unsigned char>(c) >= 0x80 || c == 0) c = '?';
  co_await pool_.exec("INSERT INTO tg_malformed (source, reason, body) VALUES ($1, $2, $3)", source, reason, body);
}

awaitable<std::vector<InboxUpdate>> Inbox::claim(int limit, std::string owner, Millis lease) {
  // heads: the oldest open update of each chat. The re-check of i.state in the locking subquery runs against
  // the latest row version (READ COMMITTED re-evaluation), so a head another worker just claimed is skipped.
  auto r = co_await pool_.exec(R"sql(
WITH heads AS (
  SELECT DISTINCT ON (chat_id) update_id
  FROM tg_inbox
  WHERE state IN ('pending', 'running') AND chat_id IS NOT NULL
  ORDER BY chat_id, update_id
), candidates AS (
  SELECT update_id FROM heads
  UNION ALL
  SELECT update_id FROM tg_inbox WHERE state IN ('pending', 'running') AND chat_id IS NULL
), due AS (
  SELECT i.update_id FROM tg_inbox i JOIN candidates c USING (update_id)
  WHERE (i.state = 'pending' AND i.run_at <= now()) OR (i.state = 'running' AND i.run_at < now())
  ORDER BY i.update_id
  LIMIT $1
  FOR UPDATE OF i SKIP LOCKED
)
UPDATE tg_inbox t
SET state = 'running', attempts = t.attempts + 1, locked_by = $2,
    run_at = now() + make_interval(secs => $3::double precision / 1000)
FROM due WHERE t.update_id = due.update_id
RETURNING t.update_id, t.chat_id, t.kind, t.payload, t.attempts)sql",
                               limit, owner, lease.count());
  std::vector<InboxUpdate> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.get<int64_t>(i, 0), r.get<std::optional<int64_t>>(i, 1), r.get<std::string>(i, 2),
                   r.get<json>(i, 3), r.get<int>(i, 4)});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.update_id < b.update_id; });
  co_return out;
}

namespace {
constexpr const char* kComplete =
    "UPDATE tg_inbox SET state = 'done', finished_at = clock_timestamp(), locked_by = NULL "
    "WHERE update_id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3";
}

awaitable<void> Inbox::complete(db::Transaction& tx, const InboxUpdate& update, const std::string& owner) {
  auto r = co_await tx.exec(kComplete, update.update_id, owner, update.attempt);
  if (r.affected() != 1)
    throw std::runtime_error("inbox: update " + std::to_string(update.update_id) + " is no longer ours (lease lost)");
}

awaitable<void> Inbox::complete(const InboxUpdate& update, const std::string& owner) {
  co_await pool_.exec(kComplete, update.update_id, owner, update.attempt);
}

awaitable<bool> Inbox::fail(const InboxUpdate& update, const std::string& owner, const std::string& error,
                            int max_attempts) {
  bool final = update.attempt >= max_attempts;
  // Short backoff: the user is waiting for an answer (1 s, 2 s, 4 s ...).
  co_await pool_.exec(
      "UPDATE tg_inbox SET state = CASE WHEN $4 THEN 'failed' ELSE 'pending' END, last_error = $5, locked_by = NULL, "
      "run_at = now() + make_interval(secs => power(2, attempts - 1)), "
      "finished_at = CASE WHEN $4 THEN now() END "
      "WHERE update_id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3",
      update.update_id, owner, update.attempt, final, error);
  co_return final;
}

awaitable<void> Inbox::skip(const InboxUpdate& update, const std::string& owner, const std::string& reason) {
  co_await pool_.exec(
      "UPDATE tg_inbox SET state = 'skipped', last_error = $4, finished_at = now(), locked_by = NULL "
      "WHERE update_id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3",
      update.update_id, owner, update.attempt, reason);
}

awaitable<int64_t> Inbox::extend_leases(const std::vector<int64_t>& update_ids, const std::string& owner,
                                        Millis lease) {
  if (update_ids.empty()) co_return 0;
  auto ids = db::to_bigint_array(update_ids);
  auto r = co_await pool_.exec(
      "UPDATE tg_inbox SET run_at = now() + make_interval(secs => $3::double precision / 1000) "
      "WHERE update_id = ANY($1::bigint[]) AND state = 'running' AND locked_by = $2",
      ids, owner, lease.count());
  co_return r.affected();
}

}  // namespace vpnbot::telegram
