#include "emulator/common.hpp"

#include <fmt/format.h>

#include <chrono>
#include <stdexcept>

#include "core/encoding.hpp"
#include "core/log.hpp"

namespace vpnbot::emulator {

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

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

int64_t kopecks(std::string_view decimal) {
  auto bad = [&] { return std::invalid_argument("'" + std::string(decimal) + "' is not an amount"); };
  auto dot = decimal.find('.');
  std::string_view whole = decimal.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : decimal.substr(dot + 1);
  if (whole.empty() || whole.size() > 15 || fraction.size() > 2) throw bad();
  int64_t value = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') throw bad();
    value = value * 10 + (c - '0');
  }
  for (size_t i = 0; i < 2; ++i) {
    char c = i < fraction.size() ? fraction[i] : '0';
    if (c < '0' || c > '9') throw bad();
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string rub_text(int64_t kopecks) {
  return fmt::format("{}.{:02}", kopecks / 100, kopecks % 100);
}

std::string php_json_encode(const nlohmann::ordered_json& value) {
  // nlohmann's dump already keeps UTF-8 and escapes controls as PHP does; what differs is "/" inside strings and
  // an empty object, both found in one pass that tracks whether it is inside a string.
  std::string text = value.dump();
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        out += c;
        out += text[++i];
        continue;
      }
      if (c == '"') in_string = false;
      if (c == '/') out += '\\';
      out += c;
    } else if (c == '"') {
      in_string = true;
      out += c;
    } else if (c == '{' && i + 1 < text.size() && text[i + 1] == '}') {
      out += "[]";
      ++i;
    } else {
      out += c;
    }
  }
  return out;
}

std::string heleket_sign(const std::string& body, const std::string& api_key) {
  return md5_hex(to_base64(body) + api_key);
}

std::string cryptopay_signature(const std::string& body, const std::string& token) {
  return hmac_sha256_hex(sha256(token), body);
}

}  // namespace vpnbot::emulator
