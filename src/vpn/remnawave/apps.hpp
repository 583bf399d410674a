#pragma once
#include <string>
#include <vector>

#include "http/server.hpp"

namespace vpnbot::remnawave {

// A client app that imports a subscription link through its own URL scheme, e.g. Happ=happ://add/{url}.
struct ClientApp {
  std::string name;
  std::string link_template;  // {url} is replaced by the subscription link
};

// Parses "Name=scheme://...{url},Name2=..." (the remnawave_apps setting). Throws std::invalid_argument on an entry
// without a name, without {url}, or with an http(s) scheme (those need no page in between).
std::vector<ClientApp> parse_client_apps(const std::string& setting);

// Telegram's buttons open only http(s) links, so an "open in Happ" button points at the gateway's
// /open/<app index>?u=<link>, a page that hands the link to the app. Only the configured apps' schemes and an
// http(s) link are accepted: the page cannot be used to open anything else.
std::string open_page_url(const std::string& public_url, size_t app_index, const std::string& subscription_url);
void add_open_app_route(http::Router& router, std::vector<ClientApp> apps);

}  // namespace vpnbot::remnawave
