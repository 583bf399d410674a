#include "vpn/settings.hpp"

namespace vpnbot::vpn {

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.string("master_key_file", s.master_key_file, false,
                "File with the 32-byte master key that encrypts WireGuard private keys at rest (mode 0600; "
                "scripts/setup creates one). Required by the worker role, wg-agent and admin.");
  schema.integer("vpn_device_limit", s.device_limit, 1, 100, "Configs one user may have.");
  schema.integer("vpn_address_grace_ms", s.address_grace_ms, 0, 604800000,
                 "A removed config's address returns to the pool after this long (stale clients fade out).");
}

}  // namespace vpnbot::vpn
