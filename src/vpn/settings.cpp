#include "vpn/settings.hpp"

#include "vpn/remnawave/apps.hpp"

namespace vpnbot::vpn {

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.string("master_key_file", s.master_key_file, false,
                "File with the 32-byte master key that encrypts WireGuard private keys at rest (mode 0600; "
                "scripts/setup creates one). Required by the worker role, wg-agent and admin.");
  schema.integer("vpn_device_limit", s.device_limit, 1, 100, "Configs one user may have.");
  schema.integer("vpn_address_grace_ms", s.address_grace_ms, 0, 604800000,
                 "A removed config's address returns to the pool after this long (stale clients fade out).");
  schema.integer("remnawave_timeout_ms", s.panel_timeout_ms, 100, 120000,
                 "Deadline of one call to a Remnawave panel; a sync holds an account for three of them at most.");
  schema.integer("remnawave_usage_interval_ms", s.panel_usage_interval_ms, 1000, 86400000,
                 "How often traffic and status of every panel user are read back (paged).");
  schema.string("remnawave_apps", s.panel_apps, false,
                "Client apps offered to import a subscription link: Name=scheme://...{url}, comma separated (opened "
                "through the gateway's /open page, since Telegram buttons take only http(s) links).",
                [](const ConfigValue&, const std::string& apps) { remnawave::parse_client_apps(apps); });
}

}  // namespace vpnbot::vpn
