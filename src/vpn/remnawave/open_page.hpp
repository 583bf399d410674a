#pragma once
#include <vector>

#include "http/server.hpp"
#include "vpn/remnawave/apps.hpp"

namespace vpnbot::remnawave {

// GET /open/<app index>?u=<subscription link>: a page that opens the configured app's import link. Only the
// configured apps' schemes around an http(s) link are built: the page cannot be used to open anything else.
void add_open_app_route(http::Router& router, std::vector<ClientApp> apps);

}  // namespace vpnbot::remnawave
