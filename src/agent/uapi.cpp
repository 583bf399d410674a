#include "agent/uapi.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

#include "core/process.hpp"
#include "vpn/keys.hpp"

namespace vpnbot::agent {

awaitable<std::string> Uapi::exchange(std::string request) {
  auto ex = co_await asio::this_coro::executor;
  // Shared with the deadline's handler, which may run after this frame is gone (it is cancelled, not awaited).
  struct Call {
    explicit Call(asio::any_io_executor ex) : socket(ex) {}
    asio::local::stream_protocol::socket socket;
    bool timed_out = false;
  };
  auto call = std::make_shared<Call>(ex);
  asio::steady_timer deadline(ex, timeout_);
  deadline.async_wait([call](boost::system::error_code ec) {
    if (ec) return;
    call->timed_out = true;
    boost::system::error_code ignored;
    call->socket.close(ignored);
  });
  auto& socket = call->socket;
  std::string response;
  boost::system::error_code ec;
  co_await socket.async_connect(asio::local::stream_protocol::endpoint(socket_path_),
                                asio::redirect_error(use_awaitable, ec));
  if (!ec) co_await asio::async_write(socket, asio::buffer(request), asio::redirect_error(use_awaitable, ec));
  if (!ec)
    co_await asio::async_read_until(socket, asio::dynamic_buffer(response), "\n\n",
                                    asio::redirect_error(use_awaitable, ec));
  deadline.cancel();
  if (call->timed_out) throw std::runtime_error("wireguard uapi " + socket_path_ + ": timed out");
  if (ec) throw std::runtime_error("wireguard uapi " + socket_path_ + ": " + ec.message());
  co_return response;
}

InterfaceState Uapi::parse(const std::string& text) {
  InterfaceState state;
  InterfacePeer* peer = nullptr;
  std::stringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
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

InterfaceState WgTool::parse_dump(const std::string& text) {
  InterfaceState state;
  std::stringstream lines(text);
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream fields(line);
    std::string field;
    while (std::getline(fields, field, '\t')) f.push_back(field);
    if (first) {  // private-key public-key listen-port fwmark
      if (f.size() < 3) throw std::runtime_error("wg show dump: unexpected interface line");
      state.private_key = f[0] == "(none)" ? "" : f[0];
      state.listen_port = std::stoi(f[2]);
      first = false;
      continue;
    }
    // public-key preshared-key endpoint allowed-ips latest-handshake rx tx keepalive
    if (f.size() < 8) throw std::runtime_error("wg show dump: unexpected peer line");
    InterfacePeer peer;
    peer.public_key = f[0];
    peer.preshared_key = f[1] == "(none)" ? "" : f[1];
    if (f[3] != "(none)") {
      std::stringstream ips(f[3]);
      std::string ip;
      while (std::getline(ips, ip, ',')) peer.allowed_ips.push_back(ip);
    }
    peer.last_handshake_sec = std::stoll(f[4]);
    peer.rx_bytes = std::stoll(f[5]);
    peer.tx_bytes = std::stoll(f[6]);
    state.peers[peer.public_key] = std::move(peer);
  }
  return state;
}

awaitable<InterfaceState> WgTool::get() {
  auto out = scratch_dir_ + "/wg-dump." + std::to_string(::getpid());
  std::vector<std::string> argv{"sh", "-c", "wg show '" + interface_ + "' dump > '" + out + "'"};
  int rc = co_await run_process_async(blocking_, std::move(argv));
  std::string text;
  {
    std::ifstream in(out);
    std::stringstream buf;
    buf << in.rdbuf();
    text = buf.str();
  }
  ::unlink(out.c_str());
  if (rc != 0) throw std::runtime_error("wg show " + interface_ + " dump failed (exit " + std::to_string(rc) + ")");
  co_return parse_dump(text);
}

awaitable<void> WgTool::set(const std::vector<PeerChange>& requested, const std::string& private_key, int listen_port,
                            bool replace_peers) {
  std::vector<PeerChange> changes = requested;
  if (replace_peers) {  // `wg set` has no replace-peers: remove the others explicitly
    std::set<std::string> keep;
    for (const auto& c : requested) keep.insert(c.public_key);
    auto current = co_await get();
    for (const auto& [key, _] : current.peers)
      if (!keep.count(key)) changes.push_back({key, true, "", ""});
  }
  std::vector<std::string> argv{"wg", "set", interface_};
  std::vector<std::string> files;
  auto secret_file = [&](const std::string& key) {
    std::string path = scratch_dir_ + "/k." + std::to_string(::getpid()) + "." + std::to_string(files.size());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot write key file in " + scratch_dir_);
    std::string line = key + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write key file in " + scratch_dir_);
    files.push_back(path);
    return path;
  };
  if (!private_key.empty()) {
    argv.push_back("private-key");
    argv.push_back(secret_file(private_key));
  }
  if (listen_port) {
    argv.push_back("listen-port");
    argv.push_back(std::to_string(listen_port));
  }
  for (const auto& c : changes) {
    argv.push_back("peer");
    argv.push_back(c.public_key);
    if (c.remove) {
      argv.push_back("remove");
      continue;
    }
    if (!c.preshared_key.empty()) {
      argv.push_back("preshared-key");
      argv.push_back(secret_file(c.preshared_key));
    }
    argv.push_back("allowed-ips");
    argv.push_back(c.allowed_ip);
  }
  int rc = 0;
  if (argv.size() > 3) rc = co_await run_process_async(blocking_, std::move(argv));
  for (const auto& f : files) ::unlink(f.c_str());
  if (rc != 0) throw std::runtime_error("wg set " + interface_ + " failed (exit " + std::to_string(rc) + ")");
}

}  // namespace vpnbot::agent
