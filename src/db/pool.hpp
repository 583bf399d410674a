#pragma once
#include <deque>
#include <type_traits>

#include "core/asio.hpp"
#include "core/event.hpp"
#include "db/connection.hpp"
#include "db/errors.hpp"

namespace vpnbot::db {

struct PoolOptions {
  std::string url;
  int max_size = 8;
  int max_waiting = 1000;
  Millis acquire_timeout{5000};
  Millis connect_timeout{5000};
  Millis query_timeout{30000};
  // A whole transaction (every statement and the COMMIT) ends by this deadline, however many statements it runs.
  Millis transaction_timeout{60000};
};

struct PoolStats {
  int open = 0;    // connections open or being opened
  int in_use = 0;  // handed out to callers
  int idle = 0;
  int waiting = 0;  // callers queued for a connection
  uint64_t acquired_total = 0;
  uint64_t opened_total = 0;
  uint64_t discarded_total = 0;
  uint64_t timeouts_total = 0;
  uint64_t rejected_total = 0;
  double acquire_wait_seconds_total = 0;
};

class Pool;

// A connection borrowed from the pool; returned (or discarded if broken) when it goes out of scope.
class PooledConnection {
 public:
  PooledConnection(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
  PooledConnection(PooledConnection&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) {}
  PooledConnection& operator=(PooledConnection&&) = delete;
  ~PooledConnection();
  Connection& operator*() { return *conn_; }
  Connection* operator->() { return conn_.get(); }

 private:
  Pool* pool_;
  std::unique_ptr<Connection> conn_;
};

// A transaction on one pooled connection. Obtained from Pool::transaction.
class Transaction {
 public:
  Transaction(Connection& conn, Millis statement_timeout, Clock::time_point deadline)
      : conn_(conn), timeout_(statement_timeout), deadline_(deadline) {}
  awaitable<Result> query(std::string_view sql, Params params = {}) {
    return conn_.query(std::string(sql), std::move(params), next_timeout());
  }
  template <typename... Args>
  awaitable<Result> exec(std::string_view sql, Args&&... args) {
    return conn_.query(std::string(sql), make_params(std::forward<Args>(args)...), next_timeout());
  }
  // An UPDATE or DELETE, true when it changed a row (a guarded state change that may find nothing to do).
  template <typename... Args>
  awaitable<bool> changed(std::string_view sql, Args&&... args) {
    return any_row_changed(exec(sql, std::forward<Args>(args)...));
  }
  // A statement with one row whose first column is the answer (a count, an EXISTS, a RETURNING id).
  template <typename T, typename... Args>
  awaitable<T> value(std::string_view sql, Args&&... args) {
    return first_value<T>(exec(sql, std::forward<Args>(args)...));
  }
  awaitable<Result> execute_script(std::string_view sql) {
    return conn_.execute_script(std::string(sql), next_timeout());
  }
  uint64_t queries_sent() const { return conn_.queries_sent(); }
  // The statement timeout, cut to what is left of the transaction's deadline (throws when nothing is left).
  Millis next_timeout() const {
    auto left = std::chrono::duration_cast<Millis>(deadline_ - Clock::now());
    if (left.count() <= 0) throw QueryTimeout("db: the transaction ran past its deadline");
    return std::min(timeout_, left);
  }

 private:
  static awaitable<bool> any_row_changed(awaitable<Result> statement) {
    auto result = co_await std::move(statement);
    co_return result.affected() > 0;
  }
  template <typename T>
  static awaitable<T> first_value(awaitable<Result> statement) {
    Result result = co_await std::move(statement);
    co_return result.get<T>(0, 0);
  }
  Connection& conn_;
  Millis timeout_;
  Clock::time_point deadline_;
};

enum class Isolation { ReadCommitted, RepeatableRead, Serializable };

// A bounded pool of async connections for one io_context thread. Callers beyond max_size wait in a
// bounded FIFO queue with a deadline; broken connections are dropped and replaced on demand, so the pool
// recovers by itself after a PostgreSQL restart. No session state is relied on (pgbouncer transaction mode).
class Pool {
 public:
  Pool(asio::any_io_executor ex, asio::any_io_executor blocking, PoolOptions options);
  ~Pool();

  awaitable<PooledConnection> acquire();

  awaitable<Result> query(std::string sql, Params params = {});
  template <typename... Args>
  awaitable<Result> exec(std::string_view sql, Args&&... args) {
    return query(std::string(sql), make_params(std::forward<Args>(args)...));
  }

  // Runs `body(Transaction&) -> awaitable<T>` inside BEGIN/COMMIT. Serialization failures and deadlocks
  // rerun the whole body (so it must only touch the database, or be idempotent) up to max_attempts times.
  template <typename Body>
  auto transaction(Body body, Isolation isolation = Isolation::ReadCommitted, int max_attempts = 5)
      -> awaitable<typename std::invoke_result_t<Body&, Transaction&>::value_type>;

  // Refuses new acquisitions and closes idle connections (graceful shutdown).
  void close();
  PoolStats stats() const;
  const PoolOptions& options() const { return options_; }
  asio::any_io_executor blocking_executor() const { return blocking_; }

 private:
  friend class PooledConnection;
  struct Waiter {
    explicit Waiter(asio::any_io_executor ex) : ready(std::move(ex)) {}
    Event ready;
    std::unique_ptr<Connection> conn;  // set when a connection is handed over; empty = permission to open one
  };

  void release(std::unique_ptr<Connection> conn);
  // A connection slot became free (connection dropped or failed to open): give it to a waiter or shrink.
  void free_slot();
  awaitable<PooledConnection> open_new();
  static const char* begin_statement(Isolation isolation);
  awaitable<void> rollback_quietly(Connection& conn);
  awaitable<void> backoff(int attempt);

  asio::any_io_executor ex_;
  asio::any_io_executor blocking_;
  PoolOptions options_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::deque<Waiter*> waiters_;
  int open_ = 0;
  bool closed_ = false;
  PoolStats counters_;
};

template <typename Body>
auto Pool::transaction(Body body, Isolation isolation, int max_attempts)
    -> awaitable<typename std::invoke_result_t<Body&, Transaction&>::value_type> {
  using T = typename std::invoke_result_t<Body&, Transaction&>::value_type;
  for (int attempt = 1;; ++attempt) {
    auto conn = co_await acquire();
    Transaction tx(*conn, options_.query_timeout, Clock::now() + options_.transaction_timeout);
    std::exception_ptr error;
    try {
      co_await conn->query(begin_statement(isolation), {}, tx.next_timeout());
      if constexpr (std::is_void_v<T>) {
        co_await body(tx);
        co_await conn->query("COMMIT", {}, tx.next_timeout());
        co_return;
      } else {
        T value = co_await body(tx);
        co_await conn->query("COMMIT", {}, tx.next_timeout());
        co_return value;
      }
    } catch (...) {
      error = std::current_exception();
    }
    co_await rollback_quietly(*conn);
    if (attempt >= max_attempts || !is_retryable_transaction_error(error)) std::rethrow_exception(error);
    co_await backoff(attempt);
  }
}

}  // namespace vpnbot::db
