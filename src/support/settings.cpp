#include "support/settings.hpp"

namespace vpnbot::support {

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.integer("support_chat_id", s.chat_id, INT64_MIN, 0,
                 "The support team's forum supergroup (a negative id; the bot must be an administrator allowed to "
                 "manage topics): each ticket gets a topic there. 0: no Support button.");
  schema.integer("support_sla_minutes", s.sla_minutes, 1, 10080,
                 "Minutes a user's message may wait for an answer before the ticket's topic gets a reminder.");
}

}  // namespace vpnbot::support
