#pragma once
#include <string>

#include "core/config.hpp"

namespace vpnbot::vpn {

// The VPN section: the key that seals private keys at rest, and configs per user.
struct Settings {
  std::string master_key_file;
  int device_limit = 3;  // configs per user until billing sets it per plan
  int address_grace_ms = 600000;
};
void declare_settings(ConfigSchema& schema, Settings& settings);

}  // namespace vpnbot::vpn
