#pragma once
#include <string>

#include "core/config.hpp"

namespace vpnbot::telegram {

// The Telegram section: the Bot API, how updates arrive, and the limits the sender keeps.
struct Settings {
  std::string api_url = "https://api.telegram.org";
  std::string token;
  std::string mode = "off";  // webhook | polling | off
  std::string webhook_secret;
  int webhook_max_connections = 40;
  int poll_timeout_s = 25;
  int global_rate = 30;
  int private_chat_interval_ms = 1000;
  int private_chat_burst = 3;
  int group_rate_per_min = 20;
  int update_max_attempts = 3;
  int send_timeout_ms = 20000;
  bool allow_paid_broadcast = false;
};
void declare_settings(ConfigSchema& schema, Settings& settings);

}  // namespace vpnbot::telegram
