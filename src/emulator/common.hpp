#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/client.hpp"

namespace vpnbot::emulator {

// Seconds since the epoch, as the services stamp their objects.
int64_t now_unix();

// The query string of a request target as key -> value (no percent-decoding: the emulators' clients send plain text).
std::map<std::string, std::string> query_params(std::string_view target);

// One webhook delivery as the real services make it: a POST that counts as delivered only on a 2xx answer. A
// receiver that is down or refuses is expected (the caller retries later), so the failure is only a debug line.
awaitable<bool> post_webhook(http::Client& client, std::string url,
                             std::vector<std::pair<std::string, std::string>> headers, std::string body,
                             const char* what);

// The providers' wire formats, written from their documentation (not shared with vpnbot's clients, so a mistake in
// a client is not repeated here and hidden).
// "199.50" -> 19950; std::invalid_argument for anything but digits with at most two decimals.
int64_t kopecks(std::string_view decimal);
// 19950 -> "199.50".
std::string rub_text(int64_t kopecks);
// PHP's json_encode($value, JSON_UNESCAPED_UNICODE), which Heleket signs: "/" escaped as "\/", non-ASCII as UTF-8,
// an empty object as "[]" (PHP decodes objects into arrays).
std::string php_json_encode(const nlohmann::ordered_json& value);
// Heleket: md5(base64(body) + API key), hex.
std::string heleket_sign(const std::string& body, const std::string& api_key);
// Crypto Pay: HMAC-SHA-256 of the raw body keyed with SHA-256 of the app token, hex.
std::string cryptopay_signature(const std::string& body, const std::string& token);

}  // namespace vpnbot::emulator
