#include "telegram/settings.hpp"

#include <cctype>

namespace vpnbot::telegram {

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.string("telegram_api_url", s.api_url, false,
                "Bot API base URL: Telegram, a local Bot API server, or the emulator.",
                [](const ConfigValue& v, const std::string& url) {
                  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
                    v.fail("must start with http:// or https://");
                });
  schema.string("telegram_token", s.token, false, "Bot token from @BotFather (required unless telegram_mode is off).",
                [](const ConfigValue& v, const std::string& token) {
                  auto colon = token.find(':');
                  if (colon == std::string::npos || colon == 0 || colon + 1 == token.size() ||
                      token.find_first_of(" /?#") != std::string::npos)
                    v.fail("must look like 123456:ABC... (digits, a colon, the secret)");
                });
  schema.string("telegram_mode", s.mode, false,
                "webhook (production), polling (development: one poller across all processes) or off.",
                [](const ConfigValue& v, const std::string& mode) {
                  if (mode != "webhook" && mode != "polling" && mode != "off")
                    v.fail("must be webhook, polling or off");
                });
  schema.string("telegram_webhook_secret", s.webhook_secret, false,
                "Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -).",
                [](const ConfigValue& v, const std::string& secret) {
                  if (secret.empty() || secret.size() > 256) v.fail("must be 1 to 256 characters");
                  for (char c : secret)
                    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
                      v.fail("may only contain A-Z, a-z, 0-9, _ and -");
                });
  schema.integer("telegram_webhook_max_connections", s.webhook_max_connections, 1, 100,
                 "max_connections given to setWebhook.");
  schema.integer("telegram_poll_timeout_s", s.poll_timeout_s, 0, 50,
                 "Long-poll timeout of getUpdates in polling mode.");
  schema.integer("telegram_global_rate", s.global_rate, 1, 1000,
                 "Messages per second to all chats (30 by Telegram's limits; up to 1000 with paid broadcasts).");
  schema.integer("telegram_private_chat_interval_ms", s.private_chat_interval_ms, 0, 60000,
                 "Sustained interval between messages to one private chat (a token bucket's rate).");
  schema.integer("telegram_private_chat_burst", s.private_chat_burst, 1, 20,
                 "Messages one private chat may get at once before the interval applies (a receipt, the config file "
                 "and its QR arrive together).");
  schema.integer("telegram_group_rate_per_min", s.group_rate_per_min, 1, 1000, "Messages per minute to one group.");
  schema.integer("telegram_update_max_attempts", s.update_max_attempts, 1, 100,
                 "Attempts at handling one update before the user gets an apology and it is marked failed.");
  schema.integer("telegram_send_timeout_ms", s.send_timeout_ms, 1000, 600000,
                 "Deadline of one Bot API call by the sender. A bulk message (broadcast, reminder) whose sender died "
                 "mid-call is declared ambiguous (never resent) this long plus 5 s after the call started; replies, "
                 "receipts and configs are resent by the next sender.");
  schema.boolean("telegram_allow_paid_broadcast", s.allow_paid_broadcast,
                 "Send broadcasts with allow_paid_broadcast (paid in Stars; raise telegram_global_rate up to 1000).");
}

}  // namespace vpnbot::telegram
