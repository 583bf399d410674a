#pragma once
#include <libpq-fe.h>

#include <deque>
#include <string>

#include "core/asio.hpp"
#include "db/errors.hpp"
#include "db/result.hpp"

namespace vpnbot::db {

// A database URL (or key=value conninfo) split for a child process (pg_dump, pg_restore): the connection string
// without the password, which goes to the child's environment (PGPASSWORD) instead of its command line, where
// every user of the machine could read it in `ps`. Throws std::invalid_argument (without libpq's text, which may
// quote the string).
struct SplitConnection {
  std::string conninfo;
  std::string password;  // empty: none given
};
SplitConnection split_password(const std::string& database_url);

struct Notification {
  std::string channel;
  std::string payload;
};

// One PostgreSQL connection driven by libpq's non-blocking API on an Asio executor. The libpq socket
// is watched through a stream_descriptor (released, never closed by Asio: libpq owns it). Not thread-safe:
// use it from one executor. Every wait has a deadline.
class Connection {
 public:
  // `blocking` runs the few libpq calls that may block (DNS in PQconnectStart, PQcancel) off the event loop.
  static awaitable<std::unique_ptr<Connection>> connect(asio::any_io_executor blocking, std::string url,
                                                        Millis timeout);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Coroutine parameters are taken by value: the body starts only when awaited.
  // Extended protocol, unnamed statement, text parameters. On deadline the statement is cancelled on
  // the server and QueryTimeout is thrown.
  awaitable<Result> query(std::string sql, Params params, Millis timeout);
  // Statements sent by this connection so far (tests prove "one query" claims with it).
  uint64_t queries_sent() const { return queries_sent_; }
  // Simple protocol: several statements, no parameters (migrations, LISTEN).
  awaitable<Result> execute_script(std::string sql, Millis timeout);

  // Quotes a name for use as an SQL identifier (channel, table), with the server's encoding rules.
  std::string quote_identifier(std::string_view name);

  // Waits until the server sends something (e.g. a NOTIFY) or the deadline passes; returns false on deadline.
  awaitable<bool> wait_for_input(Clock::time_point deadline);
  // Notifications received so far (call after wait_for_input or a query).
  std::deque<Notification> take_notifications();

  // Cheap, non-blocking: reads anything the server pushed (e.g. a shutdown notice) and reports whether
  // the connection can take a new query. Used by the pool before handing a connection out.
  bool usable();
  bool broken() const { return broken_; }
  // Wakes a pending wait_for_input early (it then returns true with nothing new): used for shutdown.
  void interrupt() {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  }
  int backend_pid() const { return PQbackendPID(conn_); }

 private:
  Connection(asio::any_io_executor ex, asio::any_io_executor blocking, PGconn* conn);
  awaitable<void> handshake(Clock::time_point deadline);
  awaitable<Result> run(Clock::time_point deadline);
  // Waits for readability/writability; false when the deadline passes first.
  awaitable<bool> wait_socket(bool for_write, Clock::time_point deadline);
  void attach_socket();
  void cancel_on_server();
  [[noreturn]] void fail_connection(const std::string& what);

  asio::any_io_executor blocking_;
  PGconn* conn_;
  asio::posix::stream_descriptor socket_;
  asio::steady_timer timer_;
  int attached_fd_ = -1;
  uint64_t wait_generation_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  bool deadline_hit_ = false;
  bool broken_ = false;
  uint64_t queries_sent_ = 0;
};

}  // namespace vpnbot::db
