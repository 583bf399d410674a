#pragma once
#include <array>
#include <optional>
#include <string>
#include <vector>

namespace vpnbot {

// An IPv4 or IPv6 network ("185.71.76.0/27", "2a02:5180::/32", or a single address).
struct IpNetwork {
  std::array<unsigned char, 16> bytes{};  // IPv4 stored as IPv4-mapped IPv6
  int prefix = 128;
  bool contains(const std::string& address) const;
};

// Throws std::invalid_argument naming the bad entry.
IpNetwork parse_network(const std::string& text);
std::vector<IpNetwork> parse_networks(const std::vector<std::string>& items);
bool any_contains(const std::vector<IpNetwork>& networks, const std::string& address);

// The client address of a request: the TCP peer, unless the peer is a trusted proxy, in which case the last
// X-Forwarded-For hop that is not itself a trusted proxy (so a client cannot forge it by sending its own header).
std::string client_address(const std::string& peer, const std::string& forwarded_for,
                           const std::vector<IpNetwork>& trusted_proxies);

}  // namespace vpnbot
