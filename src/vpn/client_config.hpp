#pragma once
#include <string>

#include "vpn/store.hpp"

namespace vpnbot::vpn {

// The client's wg-quick .conf (what the WireGuard apps import).
std::string render_client_config(const ClientConfigData& c);
// A file name the apps accept as a tunnel name: [a-zA-Z0-9_=+.-]{1,15} before ".conf".
std::string client_config_filename(const std::string& node_name, int64_t peer_id);
// The text as a QR code PNG (libqrencode + libpng), scannable by the WireGuard mobile apps.
std::string qr_png(const std::string& text, int module_pixels = 6, int margin_modules = 4);

}  // namespace vpnbot::vpn
