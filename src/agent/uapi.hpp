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

// How the agent reads and changes an interface.
class WgBackend {
 public:
  virtual ~WgBackend() = default;
  virtual awaitable<InterfaceState> get() = 0;
  // Applies the changes (and optionally the interface's key and port); replace_peers removes every other peer.
  virtual awaitable<void> set(const std::vector<PeerChange>& changes, const std::string& private_key = "",
                              int listen_port = 0, bool replace_peers = false) = 0;
};

// The WireGuard cross-platform userspace API (what `wg` itself speaks to wireguard-go) over the interface's unix
// socket, asynchronously: no subprocess per change, and any number of peer changes in one transaction.
class Uapi : public WgBackend {
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

// The `wg` tool (wireguard-tools): works with kernel WireGuard (netlink) and with wireguard-go alike. One
// subprocess per batch of changes, run off the event loop; keys go through 0600 files, never argv.
class WgTool : public WgBackend {
 public:
  WgTool(asio::any_io_executor blocking, std::string interface, std::string scratch_dir)
      : blocking_(std::move(blocking)), interface_(std::move(interface)), scratch_dir_(std::move(scratch_dir)) {}
  awaitable<InterfaceState> get() override;
  awaitable<void> set(const std::vector<PeerChange>& changes, const std::string& private_key = "", int listen_port = 0,
                      bool replace_peers = false) override;
  // Parses `wg show IF dump` (pure; exposed for tests).
  static InterfaceState parse_dump(const std::string& text);

 private:
  asio::any_io_executor blocking_;
  std::string interface_;
  std::string scratch_dir_;
};

}  // namespace vpnbot::agent
