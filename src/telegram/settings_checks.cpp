// The checks the Telegram section's settings.json names.
#include <cctype>

#include "telegram/settings.hpp"

namespace vpnbot::telegram {

void check_api_url(const ConfigValue& value, const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) value.fail("must start with http:// or https://");
}

void check_token(const ConfigValue& value, const std::string& token) {
  auto colon = token.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == token.size() ||
      token.find_first_of(" /?#") != std::string::npos)
    value.fail("must look like 123456:ABC... (digits, a colon, the secret)");
}

// Telegram takes 1-256 of A-Z a-z 0-9 _ - in X-Telegram-Bot-Api-Secret-Token.
void check_webhook_secret(const ConfigValue& value, const std::string& secret) {
  if (secret.empty() || secret.size() > 256) value.fail("must be 1 to 256 characters");
  for (char c : secret)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
      value.fail("may only contain A-Z, a-z, 0-9, _ and -");
}

}  // namespace vpnbot::telegram
