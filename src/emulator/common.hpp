#pragma once
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/client.hpp"

namespace vpnbot::emulator {

// The query string of a request target as key -> value (no percent-decoding: the emulators' clients send plain text).
std::map<std::string, std::string> query_params(std::string_view target);

// One webhook delivery as the real services make it: a POST that counts as delivered only on a 2xx answer. A
// receiver that is down or refuses is expected (the caller retries later), so the failure is only a debug line.
awaitable<bool> post_webhook(http::Client& client, std::string url,
                             std::vector<std::pair<std::string, std::string>> headers, std::string body,
                             const char* what);

}  // namespace vpnbot::emulator
