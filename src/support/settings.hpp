#pragma once
#include <cstdint>

#include "core/config.hpp"

namespace vpnbot::support {

// The support section: where tickets go and how long a user may wait before the staff are reminded.
struct Settings {
  int64_t chat_id = 0;  // a forum supergroup the bot administers (can_manage_topics); 0 = no support tickets
  int sla_minutes = 60;
};
void declare_settings(ConfigSchema& schema, Settings& settings);

}  // namespace vpnbot::support
