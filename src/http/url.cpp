#include "http/url.hpp"

namespace vpnbot::http {

std::string join_url(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  std::string url(base);
  url += path;
  return url;
}

}  // namespace vpnbot::http
