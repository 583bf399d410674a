// The checks the bot section's settings.json names.
#include <fmt/format.h>

#include <cctype>

#include "bot/settings.hpp"
#include "core/encoding.hpp"
#include "core/local_time.hpp"

namespace vpnbot::bot {
namespace {
// Telegram allows 4096 characters per message; the title and the acceptance note need the rest.
constexpr size_t kMaxRulesCharacters = 3800;
}  // namespace

void check_time_zone(const ConfigValue&, const std::string& name) {
  LocalClock{name};  // throws std::invalid_argument naming an unknown zone
}

void check_channel(const ConfigValue& value, const std::string& channel) {
  bool name_ok = channel.size() >= 6 && channel.size() <= 33 && channel[0] == '@';
  for (size_t i = 1; name_ok && i < channel.size(); ++i)
    name_ok = std::isalnum(static_cast<unsigned char>(channel[i])) || channel[i] == '_';
  if (!name_ok) value.fail(fmt::format("'{}' is not a public channel's @username", channel));
}

void check_rules_text(const ConfigValue& value, const std::string& text) {
  if (utf8_length(text) > kMaxRulesCharacters)
    value.fail(fmt::format("the terms are over {} characters (one Telegram message)", kMaxRulesCharacters));
}

}  // namespace vpnbot::bot
