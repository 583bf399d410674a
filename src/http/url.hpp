#pragma once
#include <string>
#include <string_view>

namespace vpnbot::http {

// A configured base URL (with or without a trailing slash) followed by `path` ("/api/x"): operators write both.
std::string join_url(std::string_view base, std::string_view path);
// The scheme, host and port of a URL, without user info, path or query: what an error text may name of a request,
// since paths carry secrets (the Bot API's /bot<token>/, a file's /file/bot<token>/).
std::string url_origin(std::string_view url);

}  // namespace vpnbot::http
