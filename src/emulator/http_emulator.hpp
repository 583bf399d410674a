#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/asio.hpp"
#include "http/server.hpp"

namespace vpnbot::emulator {

// What every emulator is built on: the executor it runs on, its routes, and the HTTP server on 127.0.0.1 (a port the
// kernel picks unless configured) that serves them. The derived emulator registers routes, then makes server_.
class HttpEmulator {
 public:
  uint16_t port() const { return server_->port(); }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port()); }

 protected:
  explicit HttpEmulator(asio::any_io_executor ex) : ex_(std::move(ex)) {}

  asio::any_io_executor ex_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace vpnbot::emulator
