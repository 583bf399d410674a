#include "bot/settings.hpp"

#include <fmt/format.h>

#include <charconv>

namespace vpnbot::bot {

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.add("admin_ids", "list", "", false, "Telegram user ids of administrators (comma-separated).",
             [&s](const ConfigValue& v) {
               s.admin_ids.clear();
               for (const auto& item : v.as_list()) {
                 int64_t id = 0;
                 auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
                 if (ec != std::errc() || ptr != item.data() + item.size() || id <= 0)
                   v.fail(fmt::format("'{}' is not a Telegram user id", item));
                 s.admin_ids.push_back(id);
               }
             });
  schema.int_list("reminder_hours", s.reminder_hours, 0, 24 * 60, 10,
                  "Expiry reminders: hours before expiry (0 = at expiry), in the user's language with a Renew button.");
  schema.integer("reminder_lookback_ms", s.reminder_lookback_ms, 60000, 604800000,
                 "A reminder missed (scheduler down) is still sent if at most this late.");
  schema.integer("auto_renew_before_ms", s.auto_renew_before_ms, 60000, 604800000,
                 "Auto-renewal from the balance happens this long before expiry.");
}

}  // namespace vpnbot::bot
