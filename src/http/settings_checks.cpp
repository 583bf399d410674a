// The checks the HTTP section's settings.json names (check_url and check_network serve other sections too).
#include <stdexcept>

#include "core/ip_network.hpp"
#include "http/settings.hpp"

namespace vpnbot::http {

void check_url(const ConfigValue& value, const std::string& url) {
  if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    value.fail("must start with http:// or https://");
}

void check_network(const ConfigValue& value, const std::string& network) {
  try {
    parse_network(network);
  } catch (const std::invalid_argument& e) {
    value.fail(e.what());
  }
}

void check_proxy(const ConfigValue& value, const std::string& proxy) {
  if (proxy.empty()) return;
  for (const char* scheme : {"http://", "https://", "socks5://", "socks5h://", "socks4://"})
    if (proxy.rfind(scheme, 0) == 0) return;
  value.fail("must start with http://, https://, socks4://, socks5:// or socks5h://");
}

void check_public_url(const ConfigValue& value, const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    value.fail("must start with https:// (or http:// for local tests)");
}

}  // namespace vpnbot::http
