#include "db/connection.hpp"

#include <fmt/format.h>

#include "core/log.hpp"

namespace vpnbot::db {
namespace {

// After a deadline we ask the server to cancel and give it this long to answer before dropping the connection.
constexpr Millis kCancelGrace{3000};

std::string trim_message(const char* m) {
  std::string s = m ? m : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

awaitable<PGconn*> start_connect(std::string url) {
  co_return PQconnectStart(url.c_str());
}

}  // namespace

Connection::Connection(asio::any_io_executor ex, asio::any_io_executor blocking, PGconn* conn)
    : blocking_(std::move(blocking)), conn_(conn), socket_(ex), timer_(ex) {}

Connection::~Connection() {
  if (socket_.is_open()) socket_.release();  // libpq owns the fd; PQfinish closes it.
  PQfinish(conn_);
}

void Connection::attach_socket() {
  int fd = PQsocket(conn_);
  if (fd == attached_fd_) return;
  if (socket_.is_open()) socket_.release();
  attached_fd_ = -1;
  if (fd < 0) return;
  boost::system::error_code ec;
  socket_.assign(fd, ec);
  if (ec) fail_connection("cannot watch libpq socket: " + ec.message());
  attached_fd_ = fd;
}

void Connection::fail_connection(const std::string& what) {
  broken_ = true;
  throw ConnectionError(what);
}

awaitable<std::unique_ptr<Connection>> Connection::connect(asio::any_io_executor blocking, std::string url,
                                                           Millis timeout) {
  auto ex = co_await asio::this_coro::executor;
  auto deadline = Clock::now() + timeout;
  // PQconnectStart resolves host names synchronously, so it runs on the blocking executor. The operation is
  // a named local: g++ 12 double-destroys non-trivial temporaries inside a co_await expression.
  auto start = asio::co_spawn(blocking, start_connect(std::move(url)), use_awaitable);
  PGconn* raw = co_await std::move(start);
  if (!raw) throw ConnectionError("db: out of memory creating a connection");
  std::unique_ptr<Connection> conn(new Connection(ex, std::move(blocking), raw));
  co_await conn->handshake(deadline);
  co_return conn;
}

awaitable<void> Connection::handshake(Clock::time_point deadline) {
  if (PQstatus(conn_) == CONNECTION_BAD) fail_connection("db connect: " + trim_message(PQerrorMessage(conn_)));
  // Server notices (e.g. "relation already exists, skipping") become debug log lines, not raw stderr.
  PQsetNoticeProcessor(
      conn_,
      [](void*, const char* message) {
        log::debug("db", "server notice", {{"notice", trim_message(message)}});
      },
      nullptr);
  if (PQsetnonblocking(conn_, 1) != 0) fail_connection("db connect: cannot set non-blocking mode");
  PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
  while (poll != PGRES_POLLING_OK) {
    if (poll == PGRES_POLLING_FAILED) fail_connection("db connect: " + trim_message(PQerrorMessage(conn_)));
    attach_socket();  // the socket may change while libpq tries the next address
    bool ready = co_await wait_socket(poll == PGRES_POLLING_WRITING, deadline);
    if (!ready) fail_connection("db connect: timed out");
    poll = PQconnectPoll(conn_);
  }
  attach_socket();
}

awaitable<bool> Connection::wait_socket(bool for_write, Clock::time_point deadline) {
  if (Clock::now() >= deadline) co_return false;
  deadline_hit_ = false;
  timer_.expires_at(deadline);
  // A timer that fired just as the socket became ready may run after this wait ended: the generation
  // keeps it from cutting the next wait short, the weak pointer from touching a destroyed connection.
  uint64_t generation = ++wait_generation_;
  std::weak_ptr<int> alive = alive_;
  timer_.async_wait([this, generation, alive](boost::system::error_code ec) {
    if (ec || alive.expired() || generation != wait_generation_) return;
    deadline_hit_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  });
  boost::system::error_code ec;
  auto direction = for_write ? asio::posix::stream_descriptor::wait_write : asio::posix::stream_descriptor::wait_read;
  co_await socket_.async_wait(direction, asio::redirect_error(use_awaitable, ec));
  timer_.cancel();
  if (deadline_hit_) co_return false;
  if (ec && ec != asio::error::operation_aborted) fail_connection("db socket: " + ec.message());
  co_return true;
}

awaitable<Result> Connection::query(std::string sql, Params params, Millis timeout) {
  ++queries_sent_;
  if (broken_) throw ConnectionError("db: connection is broken");
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr,
                         0))
    fail_connection("db send: " + trim_message(PQerrorMessage(conn_)));
  co_return co_await run(Clock::now() + timeout);
}

awaitable<Result> Connection::execute_script(std::string sql, Millis timeout) {
  if (broken_) throw ConnectionError("db: connection is broken");
  if (!PQsendQuery(conn_, sql.c_str())) fail_connection("db send: " + trim_message(PQerrorMessage(conn_)));
  co_return co_await run(Clock::now() + timeout);
}

void Connection::cancel_on_server() {
  PGcancel* cancel = PQgetCancel(conn_);
  if (!cancel) return;
  // PQcancel opens its own connection and blocks: never on the event loop.
  asio::post(blocking_, [cancel] {
    char err[256];
    if (!PQcancel(cancel, err, sizeof err)) log::warn("db", "cancel request failed", {{"error", err}});
    PQfreeCancel(cancel);
  });
}

awaitable<Result> Connection::run(Clock::time_point deadline) {
  // Flush the outgoing query (large parameter sets may not fit the socket buffer at once).
  for (;;) {
    int flushed = PQflush(conn_);
    if (flushed == 0) break;
    if (flushed < 0) fail_connection("db flush: " + trim_message(PQerrorMessage(conn_)));
    bool writable = co_await wait_socket(true, deadline);
    if (!writable) {
      broken_ = true;  // half-sent query: the protocol state is unknown, drop the connection
      throw QueryTimeout("db: timed out sending the query");
    }
  }
  bool cancelled = false;
  std::string error_state, error_message;
  Result last;
  for (;;) {
    while (PQisBusy(conn_)) {
      bool readable = co_await wait_socket(false, deadline);
      if (!readable) {
        if (cancelled) {
          broken_ = true;
          throw QueryTimeout("db: query timed out and the server did not answer the cancel request");
        }
        cancelled = true;
        cancel_on_server();
        deadline = Clock::now() + kCancelGrace;
        continue;
      }
      if (!PQconsumeInput(conn_)) fail_connection("db read: " + trim_message(PQerrorMessage(conn_)));
    }
    PGresult* r = PQgetResult(conn_);
    if (!r) break;
    auto status = PQresultStatus(r);
    if (status == PGRES_FATAL_ERROR && error_state.empty()) {
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      error_state = state ? state : "";
      error_message = trim_message(PQresultErrorMessage(r));
      if (error_state.empty()) error_state = "?";
    }
    last = Result(r);
  }
  if (PQstatus(conn_) == CONNECTION_BAD) {
    broken_ = true;
    throw ConnectionError(
        "db: connection lost: " + (error_message.empty() ? trim_message(PQerrorMessage(conn_)) : error_message),
        error_state == "?" ? "" : error_state);
  }
  if (!error_state.empty()) {
    if (cancelled && error_state == "57014") throw QueryTimeout("db: query timed out and was cancelled", "57014");
    if (error_state == "?") fail_connection("db: " + error_message);
    throw_sql_error(error_state, "db: " + error_message);
  }
  co_return last;
}

awaitable<bool> Connection::wait_for_input(Clock::time_point deadline) {
  if (broken_) throw ConnectionError("db: connection is broken");
  // libpq may already have seen the server go away (e.g. while collecting notifications): never wait on a dead socket.
  if (PQstatus(conn_) != CONNECTION_OK) fail_connection("db: connection lost: " + trim_message(PQerrorMessage(conn_)));
  bool readable = co_await wait_socket(false, deadline);
  if (!readable) co_return false;
  if (!PQconsumeInput(conn_)) fail_connection("db read: " + trim_message(PQerrorMessage(conn_)));
  co_return true;
}

std::string Connection::quote_identifier(std::string_view name) {
  char* quoted = PQescapeIdentifier(conn_, name.data(), name.size());
  if (!quoted) throw QueryError("db: cannot quote identifier: " + trim_message(PQerrorMessage(conn_)));
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

std::deque<Notification> Connection::take_notifications() {
  std::deque<Notification> out;
  if (!PQconsumeInput(conn_)) fail_connection("db read: " + trim_message(PQerrorMessage(conn_)));
  while (PGnotify* n = PQnotifies(conn_)) {
    out.push_back({n->relname, n->extra ? n->extra : ""});
    PQfreemem(n);
  }
  return out;
}

bool Connection::usable() {
  if (broken_) return false;
  // Non-blocking read of anything pending: after a server restart this surfaces the closed socket.
  if (!PQconsumeInput(conn_)) return broken_ = true, false;
  if (PQstatus(conn_) != CONNECTION_OK) return broken_ = true, false;
  return PQtransactionStatus(conn_) == PQTRANS_IDLE && !PQisBusy(conn_);
}

SplitConnection split_password(const std::string& database_url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(database_url.c_str(), &error);
  if (!options) {
    // libpq's text may quote the string, password included: not repeated.
    PQfreemem(error);
    throw std::invalid_argument("database_url is not a connection string libpq can read");
  }
  SplitConnection split;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    if (std::string_view(o->keyword) == "password") {
      split.password = o->val;
      continue;
    }
    std::string quoted;
    for (const char* c = o->val; *c; ++c) {
      if (*c == '\\' || *c == '\'') quoted += '\\';
      quoted += *c;
    }
    if (!split.conninfo.empty()) split.conninfo += ' ';
    split.conninfo += std::string(o->keyword) + "='" + quoted + "'";
  }
  PQconninfoFree(options);
  return split;
}

}  // namespace vpnbot::db
