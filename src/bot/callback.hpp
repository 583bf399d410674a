#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vpnbot::bot {

// callback_data of inline buttons: "<version>:<action>[:arg...]", at most 64 bytes (Telegram's limit).
// The version changes when the meaning of buttons changes, so a button from an old menu (sent before a
// deploy) is recognised and answered with "this menu has expired" instead of being misread.
inline constexpr int kCallbackVersion = 1;
inline constexpr size_t kCallbackMaxBytes = 64;

struct Callback {
  std::string action;
  std::vector<std::string> args;
};

enum class CallbackStatus { ok, expired, malformed };

struct DecodedCallback {
  CallbackStatus status = CallbackStatus::malformed;
  Callback callback;
};

// Throws std::invalid_argument when the result would exceed 64 bytes or a part contains ':'.
std::string encode_callback(std::string_view action, const std::vector<std::string>& args = {});
DecodedCallback decode_callback(std::string_view data);
// A positive id among a callback's arguments; nullopt for anything else (a forged or garbled button).
std::optional<int64_t> parse_id(std::string_view arg);

}  // namespace vpnbot::bot
