#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace vpnbot::http {

// The HTTP section: the public and internal listeners, outbound requests, and the gateway's public address.
struct Settings {
  HostPort listen{"127.0.0.1", 8080};
  std::optional<HostPort> health_listen;  // every role: /healthz, /readyz, /metrics
  int body_limit_bytes = 1 << 20;
  int read_timeout_ms = 10000;
  int idle_timeout_ms = 60000;
  int max_connections = 4096;
  int shutdown_grace_ms = 10000;
  std::string proxy;
  int client_timeout_ms = 30000;
  int client_max_connections = 64;
  std::string public_url;  // where Telegram (and payment providers) reach the gateway
  std::vector<std::string> trusted_proxies;
};
void declare_settings(ConfigSchema& schema, Settings& settings);
// A list of addresses/networks, each checked when loaded.
void declare_networks(ConfigSchema& schema, std::string key, std::vector<std::string>& field, std::string default_text,
                      std::string description);
// "must start with http:// or https://" for non-empty values.
void check_url(const ConfigValue& value, const std::string& url);

}  // namespace vpnbot::http
