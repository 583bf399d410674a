#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/asio.hpp"

namespace vpnbot::agent {

struct InterfacePeer {
  std::string public_key;  // base64
  std::string preshared_key;
  std::vector<std::string> allowed_ips;
  int64_t last_handshake_sec = 0;
  int64_t rx_bytes = 0;
  int64_t tx_bytes = 0;
};

struct InterfaceState {
  std::string private_key;  // base64, empty if unset
  int listen_port = 0;
  std::map<std::string, InterfacePeer> peers;  // by public key
};

// One change for `set`: a peer added/updated (replacing its allowed IPs) or removed.
struct PeerChange {
  std::string public_key;
  bool remove = false;
  std::string preshared_key;
  std::string allowed_ip;  // e.g. 10.8.0.2/32
};

// The WireGuard cross-platform userspace API (what `wg` itself speaks to wireguard-go) over the interface's unix
// socket, asynchronously: no subprocess per change, and any number of peer changes in one transaction.
class Uapi {
 public:
  explicit Uapi(std::string socket_path, Millis timeout = Millis(5000))
      : socket_path_(std::move(socket_path)), timeout_(timeout) {}
  static std::string default_socket(const std::string& interface) {
    return "/var/run/wireguard/" + interface + ".sock";
  }

  awaitable<InterfaceState> get();
  // Applies the changes (and optionally the interface's key and port) atomically; throws on errno != 0.
  awaitable<void> set(const std::vector<PeerChange>& changes, const std::string& private_key = "", int listen_port = 0,
                      bool replace_peers = false);
  // Parses a `get` answer (pure; exposed for tests).
  static InterfaceState parse(const std::string& text);
  static std::string format_set(const std::vector<PeerChange>& changes, const std::string& private_key, int listen_port,
                                bool replace_peers);

 private:
  awaitable<std::string> exchange(std::string request);
  std::string socket_path_;
  Millis timeout_;
};

}  // namespace vpnbot::agent
