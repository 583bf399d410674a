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

// The key that signs /open page links, derived from the bot token, which the gateway (that serves the page) and
// the worker (that makes the buttons) both hold; the token itself is never in a link.
std::string open_page_key(const std::string& bot_token);
// The signature of one app's link: the page opens only links the bot issued (subscription links of its panels).
std::string open_page_signature(const std::string& key, size_t app_index, const std::string& subscription_url);

// Telegram's buttons open only http(s) links, so an "open in Happ" button points at the gateway's
// /open/<app index>?s=<signature>&u=<link> (vpn/remnawave/open_page.hpp), a page that hands the link to the app.
std::string open_page_url(const std::string& public_url, size_t app_index, const std::string& subscription_url,
                          const std::string& key);

}  // namespace vpnbot::remnawave
