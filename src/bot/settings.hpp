#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/config.hpp"

namespace vpnbot::bot {

// The bot section: who administers it and when users are reminded of their expiry.
struct Settings {
  std::vector<int64_t> admin_ids;
  std::vector<int> reminder_hours{72, 24, 0};
  int reminder_lookback_ms = 6 * 3600 * 1000;
  int auto_renew_before_ms = 12 * 3600 * 1000;
  // Terms of service a user accepts before using the bot; raising the version asks everyone again. 0 = none.
  int rules_version = 0;
  std::string rules_text_en, rules_text_ru, rules_text_uk, rules_text_zh;  // plain text; empty: English is shown
  std::string time_zone = "Europe/Moscow";                                 // users' dates and times are shown in it
  // Public channels (@username) a user must have joined before buying; checked with getChatMember, cached.
  std::vector<std::string> required_channels;
  int channel_check_cache_ms = 5 * 60 * 1000;
  std::string channel_left_policy = "suspend_purchases";  // or "ignore": checked until passed once, then never
};
void declare_settings(ConfigSchema& schema, Settings& settings);

}  // namespace vpnbot::bot
