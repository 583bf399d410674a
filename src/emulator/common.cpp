#include "emulator/common.hpp"

#include "core/log.hpp"

namespace vpnbot::emulator {

std::map<std::string, std::string> query_params(std::string_view target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    if (eq != std::string_view::npos) out[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

awaitable<bool> post_webhook(http::Client& client, std::string url,
                             std::vector<std::pair<std::string, std::string>> headers, std::string body,
                             const char* what) {
  http::ClientRequest post;
  post.method = "POST";
  post.url = std::move(url);
  post.headers = std::move(headers);
  post.body = std::move(body);
  post.timeout = Millis(10000);
  bool delivered = false;
  try {
    auto response = co_await client.send(std::move(post));
    delivered = response.status >= 200 && response.status < 300;
  } catch (const std::exception& e) {
    log::debug("emulator", "webhook delivery failed", {{"what", what}, {"error", e.what()}});
  }
  co_return delivered;
}

}  // namespace vpnbot::emulator
