#include "http/server.hpp"

#include <sodium.h>

#include "core/event.hpp"
#include "core/log.hpp"

namespace vpnbot::http {
namespace {

std::string new_request_id() {
  unsigned char bytes[8];
  randombytes_buf(bytes, sizeof bytes);
  char hex[17];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

// Accept a caller's X-Request-Id only if it is short and printable (it ends up in logs).
std::string request_id_from(const bhttp::request<bhttp::string_body>& m) {
  auto it = m.find("X-Request-Id");
  if (it == m.end() || it->value().empty() || it->value().size() > 64) return new_request_id();
  for (char c : it->value())
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return new_request_id();
  return std::string(it->value());
}

}  // namespace

std::string_view Request::path() const {
  auto t = target();
  return t.substr(0, t.find('?'));
}

std::string Request::header(std::string_view name) const {
  auto it = message.find(beast::string_view(name.data(), name.size()));
  return it == message.end() ? std::string() : std::string(it->value());
}

std::string Request::header_list(std::string_view name) const {
  std::string joined;
  auto [first, last] = message.equal_range(beast::string_view(name.data(), name.size()));
  for (auto it = first; it != last; ++it) {
    if (!joined.empty()) joined += ", ";
    joined += std::string(it->value());
  }
  return joined;
}

Response make_response(bhttp::status status, std::string body, std::string_view content_type) {
  Response r{status, 11};
  r.set(bhttp::field::content_type, beast::string_view(content_type.data(), content_type.size()));
  r.body() = std::move(body);
  return r;
}

Response json_response(bhttp::status status, const nlohmann::json& body) {
  return make_response(status, body.dump(), "application/json");
}

void Router::add(bhttp::verb method, std::string path, Handler handler) {
  routes_[std::move(path)][method] = std::move(handler);
}

void Router::add_prefix(bhttp::verb method, std::string prefix, Handler handler) {
  prefixes_[std::move(prefix)][method] = std::move(handler);
}

awaitable<Response> Router::dispatch(Request& request) const {
  const std::map<bhttp::verb, Handler>* handlers = nullptr;
  request.route = "unmatched";
  if (auto exact = routes_.find(request.path()); exact != routes_.end()) {
    handlers = &exact->second;
    request.route = exact->first;
  } else {
    for (const auto& [prefix, by_verb] : prefixes_)
      if (request.path().starts_with(prefix)) {
        handlers = &by_verb;
        request.route = prefix + "*";
        break;
      }
  }
  if (!handlers) co_return json_response(bhttp::status::not_found, {{"error", "not found"}});
  const auto* it = handlers;
  auto method = request.message.method();
  auto h = it->find(method == bhttp::verb::head ? bhttp::verb::get : method);
  if (h == it->end()) {
    auto r = json_response(bhttp::status::method_not_allowed, {{"error", "method not allowed"}});
    std::string allow;
    for (const auto& [verb, _] : *it) allow += (allow.empty() ? "" : ", ") + std::string(bhttp::to_string(verb));
    r.set(bhttp::field::allow, allow);
    co_return r;
  }
  co_return co_await h->second(request);
}

Server::Server(asio::any_io_executor ex, ServerOptions options, const Router& router)
    : ex_(ex),
      options_(std::move(options)),
      router_(router),
      acceptor_(ex),
      connections_(ex, [](const std::string& task, const std::string& error) {
        log::error("http", "connection coroutine failed", {{"task", task}, {"error", error}});
      }) {}

void Server::start() {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(options_.listen.host, ec);
  if (ec) throw std::runtime_error("http: listen address '" + options_.listen.host + "' is not an IP address");
  tcp::endpoint endpoint(address, options_.listen.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint, ec);
  if (ec)
    throw std::runtime_error("http: cannot bind " + options_.listen.host + ":" + std::to_string(options_.listen.port) +
                             ": " + ec.message());
  acceptor_.listen(asio::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  log::info("http", "listening", {{"address", options_.listen.host}, {"port", port_}});
  connections_.spawn("accept", accept_loop());
}

awaitable<void> Server::accept_loop() {
  while (!stopping_) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
    if (stopping_) break;
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning.
      log::warn("http", "accept failed", {{"error", ec.message()}});
      co_await sleep_for(Millis(50));
      continue;
    }
    if (sessions_.size() - evicting_ >= options_.max_connections && !evict_one()) {
      ++stats_.refused;
      socket.close(ec);  // every connection is busy: refuse this one for the price of an accept
      continue;
    }
    connections_.spawn("connection", serve(std::move(socket)));
  }
}

bool Server::evict_one() {
  Session* oldest = nullptr;
  for (auto* s : sessions_)
    if (!s->busy && !s->evicted && (!oldest || s->waiting_since < oldest->waiting_since)) oldest = s;
  if (!oldest) return false;
  ++stats_.evicted;
  ++evicting_;  // room for the new connection now; the session leaves the set when its coroutine ends
  oldest->evicted = true;
  boost::system::error_code ec;
  oldest->stream->socket().close(ec);  // its pending read completes with an error and the coroutine ends
  return true;
}

awaitable<void> Server::linger(beast::tcp_stream& stream) {
  // The client may still be uploading the rejected body: closing now would reset the connection and it would
  // never read our answer. Half-close, then discard what arrives for a bounded time and size.
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(Millis(1000));
  std::array<char, 16384> sink;
  size_t drained = 0;
  while (!ec && drained < 4 * options_.body_limit + (1 << 20))
    drained += co_await stream.async_read_some(asio::buffer(sink), asio::redirect_error(use_awaitable, ec));
}

awaitable<void> Server::serve(tcp::socket socket) {
  boost::system::error_code ec;
  std::string remote_ip;
  auto remote = socket.remote_endpoint(ec);
  if (!ec) remote_ip = remote.address().to_string();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  Session session{&stream, false, false, Clock::now()};
  sessions_.insert(&session);
  ++stats_.open_connections;
  bool first = true;
  while (!stopping_ && !session.evicted) {
    session.waiting_since = Clock::now();
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(options_.body_limit);
    parser.header_limit(16 * 1024);
    // Waiting for the next request on a kept-alive connection is bounded by the idle timeout;
    // once a request starts, the whole of it must arrive within the read timeout.
    stream.expires_after(first && buffer.size() == 0 ? options_.read_timeout : options_.idle_timeout);
    co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (!ec) {
      stream.expires_after(options_.read_timeout);
      co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    }
    first = false;
    if (ec) {
      std::optional<Response> error;
      if (ec == bhttp::error::body_limit) {
        ++stats_.rejected_too_large;
        error = json_response(bhttp::status::payload_too_large, {{"error", "request body too large"}});
      } else if (ec == bhttp::error::header_limit) {
        ++stats_.bad_requests;
        error = json_response(bhttp::status::request_header_fields_too_large, {{"error", "headers too large"}});
      } else if (ec == beast::error::timeout) {
        ++stats_.timeouts;
      } else if (ec != bhttp::error::end_of_stream && ec != asio::error::eof && ec != asio::error::operation_aborted &&
                 ec != asio::error::connection_reset) {
        ++stats_.bad_requests;
        error = json_response(bhttp::status::bad_request, {{"error", "malformed request"}});
      }
      if (error) {
        error->keep_alive(false);
        error->prepare_payload();
        stream.expires_after(options_.read_timeout);
        co_await bhttp::async_write(stream, *error, asio::redirect_error(use_awaitable, ec));
        if (!ec) co_await linger(stream);
      }
      break;
    }
    session.busy = true;
    ++stats_.requests;
    Request request{parser.release(), {}, remote_ip, "unmatched"};
    request.request_id = request_id_from(request.message);
    auto started = Clock::now();
    Response response;
    std::string failure;
    try {
      response = co_await router_.dispatch(request);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      ++stats_.handler_errors;
      log::error("http", "handler failed",
                 {{"request_id", request.request_id}, {"path", request.path()}, {"error", failure}});
      response = json_response(bhttp::status::internal_server_error,
                               {{"error", "internal error"}, {"request_id", request.request_id}});
    }
    if (options_.on_request)
      options_.on_request(request.route, static_cast<int>(response.result_int()),
                          std::chrono::duration<double>(Clock::now() - started).count());
    bool keep_alive = request.message.keep_alive() && !stopping_;
    response.version(request.message.version());
    response.keep_alive(keep_alive);
    response.set("X-Request-Id", request.request_id);
    if (request.message.method() == bhttp::verb::head) {
      response.prepare_payload();
      response.body().clear();
    } else {
      response.prepare_payload();
    }
    stream.expires_after(options_.read_timeout);
    co_await bhttp::async_write(stream, response, asio::redirect_error(use_awaitable, ec));
    session.busy = false;
    if (ec || !keep_alive) break;
  }
  if (session.evicted) {
    --evicting_;
  } else {
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.close();
  }
  sessions_.erase(&session);
  --stats_.open_connections;
}

awaitable<void> Server::shutdown(Millis grace) {
  stopping_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
  // Idle keep-alive connections close now; busy ones finish their response (keep-alive is then off). A
  // connection that turns idle meanwhile is cancelled on the next round.
  auto deadline = Clock::now() + grace;
  while (connections_.running() > 0 && Clock::now() < deadline) {
    for (auto* s : sessions_)
      if (!s->busy) s->stream->cancel();
    co_await connections_.join(std::min(deadline, Clock::now() + Millis(10)));
  }
  if (connections_.running() > 0) {
    log::warn("http", "closing connections still busy after the grace period", {{"connections", sessions_.size()}});
    for (auto* s : sessions_) s->stream->close();
    // Their handlers end with their own deadlines (queries, transactions); nothing may outlive the server.
    co_await connections_.join(Clock::time_point::max());
  }
  log::info("http", "server stopped");
}

}  // namespace vpnbot::http
