#pragma once
#include <string>
#include <vector>

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
// /open/<app index>?u=<link> (vpn/remnawave/open_page.hpp), a page that hands the link to the app.
std::string open_page_url(const std::string& public_url, size_t app_index, const std::string& subscription_url);

}  // namespace vpnbot::remnawave
