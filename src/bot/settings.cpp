#include "bot/settings.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

#include "core/encoding.hpp"
#include "core/local_time.hpp"

namespace vpnbot::bot {
namespace {
// Telegram allows 4096 characters per message; the title and the acceptance note need the rest.
constexpr size_t kMaxRulesCharacters = 3800;
}  // namespace

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
  schema.string("time_zone", s.time_zone, false,
                "The time zone users' dates and times are shown in (an IANA name: Europe/Moscow, Asia/Almaty, UTC).",
                [](const ConfigValue&, const std::string& name) { LocalClock{name}; });  // throws if unknown
  schema.add("required_channels", "list", "", false,
             "Public channels (@username, comma-separated) a user must join before buying; the bot must be an "
             "administrator there to see members. Empty: no requirement.",
             [&s](const ConfigValue& v) {
               s.required_channels.clear();
               for (const auto& item : v.as_list()) {
                 bool name_ok = item.size() >= 6 && item.size() <= 33 && item[0] == '@';
                 for (size_t i = 1; name_ok && i < item.size(); ++i)
                   name_ok = std::isalnum(static_cast<unsigned char>(item[i])) || item[i] == '_';
                 if (!name_ok) v.fail(fmt::format("'{}' is not a public channel's @username", item));
                 s.required_channels.push_back(item);
               }
             });
  schema.integer("channel_check_cache_ms", s.channel_check_cache_ms, 1000, 86400000,
                 "How long a membership read with getChatMember is trusted before asking Telegram again.");
  schema.string("channel_left_policy", s.channel_left_policy, false,
                "A member who later leaves a required channel: suspend_purchases (asked to rejoin before the next "
                "purchase) or ignore (a user who joined once is never checked again).",
                [](const ConfigValue& v, const std::string& policy) {
                  if (policy != "suspend_purchases" && policy != "ignore")
                    v.fail("must be suspend_purchases or ignore");
                });
  schema.integer("rules_version", s.rules_version, 0, 1000000,
                 "Terms of service users accept before using the bot (0 = none); raising it asks every user again "
                 "at their next message. Requires rules_text_en.");
  auto rules_text = [](const ConfigValue& v, const std::string& text) {
    if (utf8_length(text) > kMaxRulesCharacters)
      v.fail(fmt::format("the terms are over {} characters (one Telegram message)", kMaxRulesCharacters));
  };
  schema.string("rules_text_en", s.rules_text_en, false,
                "The terms in English, plain text (shown as written, line breaks kept), up to 3800 characters.",
                rules_text);
  schema.string("rules_text_ru", s.rules_text_ru, false, "The terms in Russian; English is shown when empty.",
                rules_text);
  schema.string("rules_text_uk", s.rules_text_uk, false, "The terms in Ukrainian; English is shown when empty.",
                rules_text);
  schema.string("rules_text_zh", s.rules_text_zh, false, "The terms in Chinese; English is shown when empty.",
                rules_text);
}

}  // namespace vpnbot::bot
