#pragma once
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "core/asio.hpp"

namespace vpnbot::testing {

// A round-robin TCP load balancer on 127.0.0.1 in front of several gateways, as an operator runs nginx or
// HAProxy: each new connection goes to the next backend that accepts it, so a killed gateway only costs the
// requests it had in flight (their senders retry). Runs on its own thread.
class TcpProxy {
 public:
  explicit TcpProxy(std::vector<uint16_t> backends);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;
  uint16_t port() const { return port_; }

 private:
  awaitable<void> accept_loop();
  awaitable<void> session(asio::ip::tcp::socket client);

  asio::io_context io_{1};
  asio::ip::tcp::acceptor acceptor_;
  std::vector<uint16_t> backends_;
  std::atomic<size_t> next_{0};
  uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace vpnbot::testing
