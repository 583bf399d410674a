#include "jobs/queue.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace vpnbot::jobs {
namespace {

constexpr const char* kEnqueueSql = R"sql(
WITH inserted AS (
  INSERT INTO jobs (kind, payload, unique_key, run_at, max_attempts, priority, max_backoff_ms)
  VALUES ($1, $2::jsonb, $3, now() + make_interval(secs => $4::double precision / 1000), $5, $6, $7)
  ON CONFLICT (kind, unique_key) WHERE unique_key IS NOT NULL DO NOTHING
  RETURNING id
)
SELECT id, pg_notify('vpnbot_jobs', $1) FROM inserted)sql";

db::Params enqueue_params(const NewJob& job) {
  std::optional<int64_t> cap;
  if (job.max_backoff) cap = job.max_backoff->count();
  return db::make_params(job.kind, job.payload, job.unique_key, job.delay.count(), job.max_attempts, job.priority, cap);
}

std::optional<int64_t> first_id(const db::Result& r) {
  if (r.empty()) return std::nullopt;
  return r.get<int64_t>(0, 0);
}

constexpr const char* kCompleteSql = R"sql(
UPDATE jobs SET state = 'done', finished_at = now(), updated_at = now(), locked_by = NULL, last_error = NULL
WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3)sql";

}  // namespace

Millis Queue::backoff_delay(int failed_attempts, double jitter_unit) {
  double base = std::min(3600.0, std::pow(2.0, std::clamp(failed_attempts, 0, 20)));
  double jitter = 0.75 + 0.5 * std::clamp(jitter_unit, 0.0, 1.0);
  return Millis(static_cast<int64_t>(base * jitter * 1000));
}

awaitable<std::optional<int64_t>> Queue::enqueue(const NewJob& job) {
  co_return first_id(co_await pool_.query(kEnqueueSql, enqueue_params(job)));
}

awaitable<std::optional<int64_t>> Queue::enqueue(db::Transaction& tx, const NewJob& job) {
  co_return first_id(co_await tx.query(kEnqueueSql, enqueue_params(job)));
}

awaitable<std::vector<ClaimedJob>> Queue::claim(const std::vector<std::string>& kinds, int limit,
                                                const std::string& owner, Millis lease) {
  // A local, not a ?: temporary inside co_await: g++ 12 destroys such temporaries twice.
  db::Param kind_filter;
  if (!kinds.empty()) kind_filter = db::to_text_array(kinds);
  // Expired leases of jobs with attempts left are claimable like due pending jobs: a killed worker loses nothing.
  auto r = co_await pool_.exec(R"sql(
WITH due AS (
  SELECT id FROM jobs
  WHERE state IN ('pending', 'running') AND run_at <= now() AND attempts < max_attempts
    AND ($1::text[] IS NULL OR kind = ANY($1::text[]))
  ORDER BY priority DESC, run_at, id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
UPDATE jobs j
SET state = 'running', attempts = j.attempts + 1, locked_by = $3, updated_at = now(),
    run_at = now() + make_interval(secs => $4::double precision / 1000)
FROM due WHERE j.id = due.id
RETURNING j.id, j.kind, j.payload, j.attempts, j.max_attempts)sql",
                               kind_filter, limit, owner, lease.count());
  std::vector<ClaimedJob> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.get<int64_t>(i, 0), r.get<std::string>(i, 1), r.get<nlohmann::json>(i, 2), r.get<int>(i, 3),
                   r.get<int>(i, 4)});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  co_return out;
}

awaitable<void> Queue::complete(const ClaimedJob& job, const std::string& owner) {
  auto r = co_await pool_.exec(kCompleteSql, job.id, owner, job.attempt);
  if (r.affected() != 1) throw LeaseLost("job " + std::to_string(job.id) + " is no longer held by " + owner);
}

awaitable<void> Queue::complete(db::Transaction& tx, const ClaimedJob& job, const std::string& owner) {
  auto r = co_await tx.exec(kCompleteSql, job.id, owner, job.attempt);
  if (r.affected() != 1) throw LeaseLost("job " + std::to_string(job.id) + " is no longer held by " + owner);
}

awaitable<void> Queue::fail(const ClaimedJob& job, const std::string& owner, const std::string& error, bool permanent) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  auto delay = backoff_delay(job.attempt - 1, std::uniform_real_distribution<double>(0, 1)(rng));
  bool dead = permanent || job.attempt >= job.max_attempts;
  // The owner/attempt guard keeps a stale worker from overwriting a newer attempt's state.
  co_await pool_.exec(R"sql(
UPDATE jobs SET state = CASE WHEN $4 THEN 'dead' ELSE 'pending' END,
  run_at = now() + make_interval(secs => LEAST($5::double precision,
    COALESCE(max_backoff_ms * (0.75 + 0.5 * random()), $5::double precision)) / 1000),
  last_error = left($6, 4000), locked_by = NULL, updated_at = now()
WHERE id = $1 AND state = 'running' AND locked_by = $2 AND attempts = $3)sql",
                      job.id, owner, job.attempt, dead, delay.count(), error);
}

awaitable<int64_t> Queue::extend_leases(const std::vector<int64_t>& ids, const std::string& owner, Millis lease) {
  if (ids.empty()) co_return 0;
  std::string array = "{";
  for (size_t i = 0; i < ids.size(); ++i) array += (i ? "," : "") + std::to_string(ids[i]);
  array += "}";
  auto r = co_await pool_.exec(R"sql(
UPDATE jobs SET run_at = now() + make_interval(secs => $3::double precision / 1000), updated_at = now()
WHERE id = ANY($1::bigint[]) AND state = 'running' AND locked_by = $2)sql",
                               array, owner, lease.count());
  co_return r.affected();
}

awaitable<int64_t> Queue::bury_expired() {
  auto r = co_await pool_.query(R"sql(
UPDATE jobs SET state = 'dead', locked_by = NULL, updated_at = now(),
  last_error = coalesce(last_error || '; ', '') || 'lease expired on the final attempt'
WHERE state = 'running' AND run_at <= now() AND attempts >= max_attempts)sql");
  co_return r.affected();
}

awaitable<bool> Queue::retry_dead(int64_t id) {
  auto r = co_await pool_.exec(R"sql(
UPDATE jobs SET state = 'pending', run_at = now(), max_attempts = attempts + 1, updated_at = now()
WHERE id = $1 AND state = 'dead')sql",
                               id);
  co_return r.affected() == 1;
}

awaitable<std::vector<QueueDepth>> Queue::depth() {
  auto r = co_await pool_.query(R"sql(
SELECT kind,
  count(*) FILTER (WHERE state = 'pending' AND run_at <= now()),
  count(*) FILTER (WHERE state = 'running'),
  count(*) FILTER (WHERE state = 'dead'),
  coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'pending' AND run_at <= now())), 0)
FROM jobs WHERE state IN ('pending', 'running', 'dead') GROUP BY kind ORDER BY kind)sql");
  std::vector<QueueDepth> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.get<std::string>(i, 0), r.get<int64_t>(i, 1), r.get<int64_t>(i, 2), r.get<int64_t>(i, 3),
                   r.get<double>(i, 4)});
  co_return out;
}

}  // namespace vpnbot::jobs
