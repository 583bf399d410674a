#include "support/tcp_proxy.hpp"

#include <memory>

namespace vpnbot::testing {

namespace {
using tcp = asio::ip::tcp;

// Copies one direction until EOF or an error, then closes both sockets so the other direction ends too.
awaitable<void> pump(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to) {
  std::array<char, 16384> buffer;
  boost::system::error_code ec;
  for (;;) {
    size_t n = co_await from->async_read_some(asio::buffer(buffer), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    co_await asio::async_write(*to, asio::buffer(buffer.data(), n), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
  }
  from->close(ec);
  to->close(ec);
}
}  // namespace

TcpProxy::TcpProxy(std::vector<uint16_t> backends)
    : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), backends_(std::move(backends)) {
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

TcpProxy::~TcpProxy() {
  io_.stop();
  thread_.join();
}

awaitable<void> TcpProxy::accept_loop() {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket client = co_await acceptor_.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    asio::co_spawn(io_, session(std::move(client)), asio::detached);
  }
}

awaitable<void> TcpProxy::session(tcp::socket client_socket) {
  auto client = std::make_shared<tcp::socket>(std::move(client_socket));
  auto backend = std::make_shared<tcp::socket>(io_);
  size_t first = next_++;
  for (size_t i = 0; i < backends_.size(); ++i) {
    boost::system::error_code ec;
    backend->close(ec);
    tcp::endpoint target(asio::ip::make_address("127.0.0.1"), backends_[(first + i) % backends_.size()]);
    // Loopback: a dead backend refuses at once, so no connect timeout is needed.
    co_await backend->async_connect(target, asio::redirect_error(use_awaitable, ec));
    if (!ec) {
      asio::co_spawn(io_, pump(client, backend), asio::detached);
      asio::co_spawn(io_, pump(backend, client), asio::detached);
      co_return;
    }
  }
  boost::system::error_code ignored;
  client->close(ignored);  // no backend up: the sender sees a reset and retries later
}

}  // namespace vpnbot::testing
