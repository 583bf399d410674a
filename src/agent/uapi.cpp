#include "agent/uapi.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

#include "vpn/keys.hpp"

namespace vpnbot::agent {

awaitable<std::string> Uapi::exchange(std::string request) {
  auto ex = co_await asio::this_coro::executor;
  asio::local::stream_protocol::socket socket(ex);
  asio::steady_timer deadline(ex, timeout_);
  bool timed_out = false;
  deadline.async_wait([&](boost::system::error_code ec) {
    if (ec) return;
    timed_out = true;
    boost::system::error_code ignored;
    socket.close(ignored);
  });
  std::string response;
  boost::system::error_code ec;
  co_await socket.async_connect(asio::local::stream_protocol::endpoint(socket_path_),
                                asio::redirect_error(use_awaitable, ec));
  if (!ec) co_await asio::async_write(socket, asio::buffer(request), asio::redirect_error(use_awaitable, ec));
  if (!ec)
    co_await asio::async_read_until(socket, asio::dynamic_buffer(response), "\n\n",
                                    asio::redirect_error(use_awaitable, ec));
  deadline.cancel();
  if (timed_out) throw std::runtime_error("wireguard uapi " + socket_path_ + ": timed out");
  if (ec) throw std::runtime_error("wireguard uapi " + socket_path_ + ": " + ec.message());
  co_return response;
}

InterfaceState Uapi::parse(const std::string& text) {
  InterfaceState state;
  InterfacePeer* peer = nullptr;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "errno" && value != "0") throw std::runtime_error("wireguard uapi get: errno=" + value);
    if (key == "private_key") {
      state.private_key = vpn::hex_to_key(value);
    } else if (key == "listen_port") {
      state.listen_port = std::stoi(value);
    } else if (key == "public_key") {
      auto b64 = vpn::hex_to_key(value);
      peer = &state.peers[b64];
      peer->public_key = b64;
    } else if (peer && key == "preshared_key") {
      peer->preshared_key = vpn::hex_to_key(value);
    } else if (peer && key == "allowed_ip") {
      peer->allowed_ips.push_back(value);
    } else if (peer && key == "last_handshake_time_sec") {
      peer->last_handshake_sec = std::stoll(value);
    } else if (peer && key == "rx_bytes") {
      peer->rx_bytes = std::stoll(value);
    } else if (peer && key == "tx_bytes") {
      peer->tx_bytes = std::stoll(value);
    }
  }
  return state;
}

std::string Uapi::format_set(const std::vector<PeerChange>& changes, const std::string& private_key, int listen_port,
                             bool replace_peers) {
  std::string req = "set=1\n";
  if (!private_key.empty()) req += "private_key=" + vpn::key_to_hex(private_key) + "\n";
  if (listen_port) req += "listen_port=" + std::to_string(listen_port) + "\n";
  if (replace_peers) req += "replace_peers=true\n";
  for (const auto& c : changes) {
    req += "public_key=" + vpn::key_to_hex(c.public_key) + "\n";
    if (c.remove) {
      req += "remove=true\n";
      continue;
    }
    if (!c.preshared_key.empty()) req += "preshared_key=" + vpn::key_to_hex(c.preshared_key) + "\n";
    req += "replace_allowed_ips=true\nallowed_ip=" + c.allowed_ip + "\n";
  }
  return req + "\n";
}

awaitable<InterfaceState> Uapi::get() {
  auto text = co_await exchange("get=1\n\n");
  co_return parse(text);
}

awaitable<void> Uapi::set(const std::vector<PeerChange>& changes, const std::string& private_key, int listen_port,
                          bool replace_peers) {
  auto text = co_await exchange(format_set(changes, private_key, listen_port, replace_peers));
  if (text.find("errno=0\n") == std::string::npos) throw std::runtime_error("wireguard uapi set failed: " + text);
}

}  // namespace vpnbot::agent
