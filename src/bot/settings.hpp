#pragma once
#include <cstdint>
#include <vector>

#include "core/config.hpp"

namespace vpnbot::bot {

// The bot section: who administers it and when users are reminded of their expiry.
struct Settings {
  std::vector<int64_t> admin_ids;
  std::vector<int> reminder_hours{72, 24, 0};
  int reminder_lookback_ms = 6 * 3600 * 1000;
  int auto_renew_before_ms = 12 * 3600 * 1000;
};
void declare_settings(ConfigSchema& schema, Settings& settings);

}  // namespace vpnbot::bot
