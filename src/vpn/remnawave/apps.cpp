#include "vpn/remnawave/apps.hpp"

#include <stdexcept>

#include "core/encoding.hpp"
#include "http/url.hpp"

namespace vpnbot::remnawave {

std::vector<ClientApp> parse_client_apps(const std::string& setting) {
  std::vector<ClientApp> apps;
  size_t start = 0;
  while (start <= setting.size()) {
    size_t comma = setting.find(',', start);
    std::string entry = setting.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? setting.size() + 1 : comma + 1;
    if (entry.empty()) continue;
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0)
      throw std::invalid_argument("client app '" + entry + "': expected Name=link");
    ClientApp app{entry.substr(0, eq), entry.substr(eq + 1)};
    auto scheme_end = app.link_template.find("://");
    if (app.link_template.find("{url}") == std::string::npos || scheme_end == std::string::npos || scheme_end == 0)
      throw std::invalid_argument("client app '" + app.name + "': expected scheme://...{url}");
    std::string scheme = app.link_template.substr(0, scheme_end);
    if (scheme == "http" || scheme == "https")
      throw std::invalid_argument("client app '" + app.name + "': an http(s) link needs no page, use it directly");
    apps.push_back(std::move(app));
  }
  return apps;
}

std::string open_page_key(const std::string& bot_token) {
  return hmac_sha256_hex(bot_token, "vpnbot open page links");
}

std::string open_page_signature(const std::string& key, size_t app_index, const std::string& subscription_url) {
  return hmac_sha256_hex(key, std::to_string(app_index) + "\n" + subscription_url).substr(0, 32);
}

std::string open_page_url(const std::string& public_url, size_t app_index, const std::string& subscription_url,
                          const std::string& key) {
  return http::join_url(public_url, "/open/" + std::to_string(app_index) +
                                        "?s=" + open_page_signature(key, app_index, subscription_url) +
                                        "&u=" + url_encode(subscription_url));
}

}  // namespace vpnbot::remnawave
