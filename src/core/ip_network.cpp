#include "core/ip_network.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>

namespace vpnbot {
namespace {

std::optional<std::array<unsigned char, 16>> parse_address(std::string text, bool* v4 = nullptr) {
  while (!text.empty() && text.front() == ' ') text.erase(0, 1);
  while (!text.empty() && text.back() == ' ') text.pop_back();
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  std::array<unsigned char, 16> out{};
  in_addr a4{};
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &a4, 4);
    if (v4) *v4 = true;
    return out;
  }
  in6_addr a6{};
  if (inet_pton(AF_INET6, text.c_str(), &a6) == 1) {
    std::memcpy(out.data(), &a6, 16);
    if (v4) *v4 = false;
    return out;
  }
  return std::nullopt;
}

}  // namespace

bool IpNetwork::contains(const std::string& address) const {
  auto a = parse_address(address);
  if (!a) return false;
  int full = prefix / 8, rest = prefix % 8;
  for (int i = 0; i < full; ++i)
    if ((*a)[i] != bytes[i]) return false;
  if (rest) {
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    if (((*a)[full] & mask) != (bytes[full] & mask)) return false;
  }
  return true;
}

IpNetwork parse_network(const std::string& text) {
  auto slash = text.find('/');
  bool v4 = false;
  auto address = parse_address(text.substr(0, slash), &v4);
  if (!address) throw std::invalid_argument("'" + text + "' is not an IP address or network");
  IpNetwork n;
  n.bytes = *address;
  int max = v4 ? 32 : 128;
  int prefix = max;
  if (slash != std::string::npos) {
    std::string p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument("'" + text + "' has a bad prefix length");
    prefix = std::stoi(p);
    if (prefix > max) throw std::invalid_argument("'" + text + "' has a prefix longer than the address");
  }
  n.prefix = v4 ? prefix + 96 : prefix;
  return n;
}

std::vector<IpNetwork> parse_networks(const std::vector<std::string>& items) {
  std::vector<IpNetwork> out;
  for (const auto& item : items) out.push_back(parse_network(item));
  return out;
}

bool any_contains(const std::vector<IpNetwork>& networks, const std::string& address) {
  for (const auto& n : networks)
    if (n.contains(address)) return true;
  return false;
}

std::string client_address(const std::string& peer, const std::string& forwarded_for,
                           const std::vector<IpNetwork>& trusted_proxies) {
  if (forwarded_for.empty() || !any_contains(trusted_proxies, peer)) return peer;
  // Walk from the right: each hop was appended by the proxy in front of it.
  std::string rest = forwarded_for;
  while (!rest.empty()) {
    auto comma = rest.rfind(',');
    std::string hop = comma == std::string::npos ? rest : rest.substr(comma + 1);
    while (!hop.empty() && hop.front() == ' ') hop.erase(0, 1);
    while (!hop.empty() && hop.back() == ' ') hop.pop_back();
    if (!any_contains(trusted_proxies, hop)) return hop;
    if (comma == std::string::npos) break;
    rest.resize(comma);
  }
  return peer;
}

}  // namespace vpnbot
