#pragma once
#include <string>
#include <string_view>

namespace vpnbot::http {

// A configured base URL (with or without a trailing slash) followed by `path` ("/api/x"): operators write both.
std::string join_url(std::string_view base, std::string_view path);

}  // namespace vpnbot::http
