#pragma once
#include <string>

#include "core/config.hpp"

namespace vpnbot::vpn {

// The VPN section: the key that seals private keys at rest, and configs per user.
struct Settings {
  std::string master_key_file;
  int device_limit = 3;  // configs per user until billing sets it per plan
  int address_grace_ms = 600000;
  // Remnawave locations (the panel's own URL and token are per node, in the database).
  int panel_timeout_ms = 10000;
  int panel_usage_interval_ms = 60000;
  // "Name=scheme://...{url}" entries, comma separated: the client apps offered to import a subscription link.
  std::string panel_apps =
      "Happ=happ://add/{url},v2RayTun=v2raytun://import/{url},Hiddify=hiddify://import/{url},"
      "Streisand=streisand://import/{url}";
};
void declare_settings(ConfigSchema& schema, Settings& settings);

}  // namespace vpnbot::vpn
