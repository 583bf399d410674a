#pragma once
#include <map>
#include <optional>
#include <string>

namespace vpnbot::app {

// `vpnbot sandbox`: a throwaway PostgreSQL, the Telegram and payment emulators, demo data, `serve` with every role
// and, where the box allows it (root or CAP_NET_ADMIN, /dev/net/tun, wireguard-go), a wg-agent in a network
// namespace so issued configs work. Returns serve's exit code after Ctrl-C, having removed everything it made.
int run_sandbox(const std::optional<std::string>& config_file, std::map<std::string, std::string> env);

}  // namespace vpnbot::app
