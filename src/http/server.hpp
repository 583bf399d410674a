#pragma once
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <map>
#include <set>

#include "core/asio.hpp"
#include "core/config.hpp"
#include "core/task_group.hpp"

namespace vpnbot::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Request {
  bhttp::request<bhttp::string_body> message;
  std::string request_id;
  std::string remote_ip;  // the TCP peer; trusting proxy headers is a per-route decision
  std::string route;      // the matched route pattern (bounded label for metrics); "unmatched" otherwise
  std::string_view target() const { return {message.target().data(), message.target().size()}; }
  std::string_view path() const;
  std::string header(std::string_view name) const;
  // Every field of that name joined by ", " in arrival order, as RFC 9110 reads repeated fields (X-Forwarded-For:
  // a proxy may add its own line after a forged one rather than append to it).
  std::string header_list(std::string_view name) const;
};

using Response = bhttp::response<bhttp::string_body>;
using Handler = std::function<awaitable<Response>(Request&)>;

Response make_response(bhttp::status status, std::string body, std::string_view content_type = "text/plain");
Response json_response(bhttp::status status, const nlohmann::json& body);

// Exact-path routes registered by domain modules. Unknown path -> 404, known path with another method -> 405.
class Router {
 public:
  void add(bhttp::verb method, std::string path, Handler handler);
  // Matches any path that starts with `prefix` (e.g. "/bot" for the Bot API emulator); exact routes win,
  // then the longest prefix.
  void add_prefix(bhttp::verb method, std::string prefix, Handler handler);
  awaitable<Response> dispatch(Request& request) const;

 private:
  std::map<std::string, std::map<bhttp::verb, Handler>, std::less<>> routes_;
  std::map<std::string, std::map<bhttp::verb, Handler>, std::greater<>> prefixes_;  // longest first
};

struct ServerOptions {
  HostPort listen;
  size_t body_limit = 1 << 20;
  Millis read_timeout{10000};
  Millis idle_timeout{60000};
  // Called after every answered request (metrics): route pattern, status, seconds spent.
  std::function<void(const std::string& route, int status, double seconds)> on_request;
  // Beyond this many open connections a new one evicts the connection idle longest (waiting for a request), or is
  // closed at once when every connection is busy: idle or slow-header floods cannot lock out a genuine client.
  size_t max_connections = 4096;
};

struct ServerStats {
  uint64_t requests = 0;
  uint64_t rejected_too_large = 0;
  uint64_t bad_requests = 0;
  uint64_t timeouts = 0;
  uint64_t handler_errors = 0;
  uint64_t evicted = 0;  // idle connections closed to make room
  uint64_t refused = 0;  // connections closed at accept (all busy)
  int open_connections = 0;
};

// Beast HTTP/1.1 server: a coroutine per connection, keep-alive, body and header limits, read and idle
// timeouts. shutdown() stops accepting, lets in-flight requests finish within the grace period, and
// closes idle keep-alive connections at once.
class Server {
 public:
  Server(asio::any_io_executor ex, ServerOptions options, const Router& router);
  // Binds and starts accepting; throws with a clear message if the address cannot be bound.
  void start();
  uint16_t port() const { return port_; }
  awaitable<void> shutdown(Millis grace);
  const ServerStats& stats() const { return stats_; }

 private:
  struct Session {
    beast::tcp_stream* stream = nullptr;
    bool busy = false;
    bool evicted = false;
    Clock::time_point waiting_since{};  // when it began waiting for its next request
  };
  // At the cap: closes the connection that waited longest for a request; false when all are busy.
  bool evict_one();
  awaitable<void> accept_loop();
  awaitable<void> serve(tcp::socket socket);
  awaitable<void> linger(beast::tcp_stream& stream);

  asio::any_io_executor ex_;
  ServerOptions options_;
  const Router& router_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  bool stopping_ = false;
  std::set<Session*> sessions_;
  size_t evicting_ = 0;  // evicted sessions whose coroutines have not ended yet
  ServerStats stats_;
  TaskGroup connections_;  // the accept loop and one coroutine per connection; joined by shutdown()
};

}  // namespace vpnbot::http
