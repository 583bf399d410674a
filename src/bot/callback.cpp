#include "bot/callback.hpp"

#include <charconv>
#include <stdexcept>

namespace vpnbot::bot {

std::string encode_callback(std::string_view action, const std::vector<std::string>& args) {
  auto check = [](std::string_view part) {
    if (part.find(':') != std::string_view::npos) throw std::invalid_argument("callback part contains ':'");
  };
  check(action);
  if (action.empty()) throw std::invalid_argument("callback action is empty");
  std::string out = std::to_string(kCallbackVersion) + ":" + std::string(action);
  for (const auto& a : args) {
    check(a);
    out += ":" + a;
  }
  if (out.size() > kCallbackMaxBytes) throw std::invalid_argument("callback data over 64 bytes: " + out);
  return out;
}

DecodedCallback decode_callback(std::string_view data) {
  DecodedCallback result;
  if (data.empty() || data.size() > kCallbackMaxBytes) return result;
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = data.find(':', start);
    parts.emplace_back(data.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  // Another version, a pre-versioning button ("buy_plan_3") or another spelling of this one ("01"): stale, not an
  // attack. Only the exact spelling is accepted, so one button has one callback_data (found by fuzz_callback).
  if (parts[0] != std::to_string(kCallbackVersion)) {
    result.status = CallbackStatus::expired;
    return result;
  }
  if (parts.size() < 2 || parts[1].empty()) return result;
  result.status = CallbackStatus::ok;
  result.callback.action = parts[1];
  result.callback.args.assign(parts.begin() + 2, parts.end());
  return result;
}

std::optional<int64_t> parse_id(std::string_view arg) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), v);
  if (ec != std::errc() || ptr != arg.data() + arg.size() || v <= 0) return std::nullopt;
  return v;
}

}  // namespace vpnbot::bot
