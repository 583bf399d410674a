// The check the VPN section's settings.json names.
#include "vpn/remnawave/apps.hpp"
#include "vpn/settings.hpp"

namespace vpnbot::vpn {

void check_client_apps(const ConfigValue&, const std::string& apps) {
  remnawave::parse_client_apps(apps);  // throws std::invalid_argument naming the bad entry
}

}  // namespace vpnbot::vpn
