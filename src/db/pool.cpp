#include "db/pool.hpp"

#include <algorithm>
#include <random>

#include "core/log.hpp"

namespace vpnbot::db {

PooledConnection::~PooledConnection() {
  if (conn_ && pool_) pool_->release(std::move(conn_));
}

Pool::Pool(asio::any_io_executor ex, asio::any_io_executor blocking, PoolOptions options)
    : ex_(std::move(ex)), blocking_(std::move(blocking)), options_(std::move(options)) {}

Pool::~Pool() {
  close();
}

const char* Pool::begin_statement(Isolation isolation) {
  switch (isolation) {
    case Isolation::RepeatableRead:
      return "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case Isolation::Serializable:
      return "BEGIN ISOLATION LEVEL SERIALIZABLE";
    case Isolation::ReadCommitted:
      break;
  }
  return "BEGIN";
}

awaitable<PooledConnection> Pool::acquire() {
  if (closed_) throw ConnectionError("db: pool is closed");
  ++counters_.acquired_total;
  while (!idle_.empty()) {
    // LIFO keeps a small hot set of connections and lets the rest be noticed as stale together.
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    if (conn->usable()) co_return PooledConnection(this, std::move(conn));
    ++counters_.discarded_total;
    --open_;
  }
  if (open_ < options_.max_size) {
    ++open_;
    co_return co_await open_new();
  }
  if (static_cast<int>(waiters_.size()) >= options_.max_waiting) {
    ++counters_.rejected_total;
    throw PoolOverloaded("db: too many callers waiting for a connection");
  }
  auto started = Clock::now();
  Waiter waiter(ex_);
  waiters_.push_back(&waiter);
  bool handed = co_await waiter.ready.wait_until(started + options_.acquire_timeout);
  counters_.acquire_wait_seconds_total += std::chrono::duration<double>(Clock::now() - started).count();
  if (!handed) {
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &waiter));
    ++counters_.timeouts_total;
    throw PoolTimeout("db: no connection free within " + std::to_string(options_.acquire_timeout.count()) + " ms");
  }
  if (waiter.conn) co_return PooledConnection(this, std::move(waiter.conn));
  if (closed_) throw ConnectionError("db: pool is closed");
  co_return co_await open_new();  // the slot was handed over to us
}

awaitable<PooledConnection> Pool::open_new() {
  // The caller already counted this connection in open_.
  std::exception_ptr error;
  try {
    auto conn = co_await Connection::connect(blocking_, options_.url, options_.connect_timeout);
    ++counters_.opened_total;
    co_return PooledConnection(this, std::move(conn));
  } catch (...) {
    error = std::current_exception();
  }
  free_slot();
  std::rethrow_exception(error);
}

void Pool::release(std::unique_ptr<Connection> conn) {
  if (closed_ || !conn->usable()) {
    ++counters_.discarded_total;
    conn.reset();
    free_slot();
    return;
  }
  if (!waiters_.empty()) {
    Waiter* w = waiters_.front();
    waiters_.pop_front();
    w->conn = std::move(conn);
    w->ready.notify();
    return;
  }
  idle_.push_back(std::move(conn));
}

void Pool::free_slot() {
  if (!closed_ && !waiters_.empty()) {
    Waiter* w = waiters_.front();
    waiters_.pop_front();
    w->ready.notify();  // no connection attached: the waiter opens one in this slot
    return;
  }
  --open_;
}

awaitable<Result> Pool::query(std::string sql, Params params) {
  auto conn = co_await acquire();
  co_return co_await conn->query(std::move(sql), std::move(params), options_.query_timeout);
}

awaitable<void> Pool::rollback_quietly(Connection& conn) {
  if (conn.broken()) co_return;
  try {
    co_await conn.query("ROLLBACK", {}, options_.query_timeout);
  } catch (const std::exception& e) {
    // The connection is marked broken by the failed query and will be discarded on release.
    log::warn("db", "rollback failed", {{"error", e.what()}});
  }
}

awaitable<void> Pool::backoff(int attempt) {
  static thread_local std::minstd_rand rng{std::random_device{}()};
  int cap = std::min(1000, 10 << std::min(attempt, 6));
  co_await sleep_for(Millis(std::uniform_int_distribution<int>(cap / 2, cap)(rng)));
}

void Pool::close() {
  closed_ = true;
  open_ -= static_cast<int>(idle_.size());
  idle_.clear();
  // Waiters are woken with nothing: they see the pool closed via open_new's failure path or timeout.
  while (!waiters_.empty()) {
    waiters_.front()->ready.notify();
    waiters_.pop_front();
  }
}

PoolStats Pool::stats() const {
  PoolStats s = counters_;
  s.open = open_;
  s.idle = static_cast<int>(idle_.size());
  s.in_use = open_ - s.idle;
  s.waiting = static_cast<int>(waiters_.size());
  return s;
}

}  // namespace vpnbot::db
