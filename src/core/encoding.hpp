#pragma once
#include <string>
#include <string_view>

namespace vpnbot {

// Standard base64 with padding (libsodium's ORIGINAL variant).
std::string to_base64(std::string_view data);
// Throws std::invalid_argument for anything that is not valid base64.
std::string from_base64(std::string_view b64);
// Lower-case hex of the MD5 digest (only where a provider's protocol demands MD5, e.g. Heleket's signature).
std::string md5_hex(std::string_view data);
// The raw 32-byte SHA-256 digest.
std::string sha256(std::string_view data);
// Lower-case hex of HMAC-SHA-256 (e.g. Crypto Pay's webhook signature).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Escapes text for HTML (Telegram's parse_mode=HTML, the emulators' pages).
std::string html_escape(std::string_view text);
// Percent-encodes everything but RFC 3986's unreserved characters (a value inside a URL's query).
std::string url_encode(std::string_view text);
// Decodes %XX and '+' (a query value); throws std::invalid_argument on a broken escape.
std::string url_decode(std::string_view text);
// Characters (Unicode code points) of UTF-8 text: what Telegram's length limits count, not bytes.
size_t utf8_length(std::string_view text);
// At most `max_chars` characters of UTF-8 text, never cut inside a character.
std::string utf8_prefix(std::string_view text, size_t max_chars);
// Compares in time independent of where the strings differ (signatures, secrets).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace vpnbot
