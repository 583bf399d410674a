#pragma once
#include <vector>

#include "http/server.hpp"
#include "vpn/remnawave/apps.hpp"

namespace vpnbot::remnawave {

// GET /open/<app index>?s=<signature>&u=<subscription link>: a page that opens the configured app's import link.
// Only links the bot signed (subscription links of its panels, apps/open_page_signature) inside the configured apps'
// schemes are built: the page cannot be used to send anyone anywhere else. Checked without a database query.
void add_open_app_route(http::Router& router, std::vector<ClientApp> apps, std::string key);

}  // namespace vpnbot::remnawave
