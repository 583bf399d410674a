#pragma once
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace vpnbot::emulator {

// A text or keyboard the Bot API refuses; what() is its description ("Bad Request: ...").
struct FormattingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The text users see, as the Bot API makes it before sending: with parse_mode "HTML" its HTML parser (the one the
// Bot API server runs, tdlib's parse_html: the documented tags, the four named entities and numeric ones, an `&`
// that starts none of them kept as it is, any other `<` refused); without a parse mode the text itself. Iterative
// and linear in the text's size. Throws FormattingError with the Bot API's description.
std::string visible_text(const std::string& text, const std::string& parse_mode);

// An inline keyboard as the Bot API checks it: every button has text and exactly one action, callback_data 1-64
// bytes, a url http(s):// or tg://. Other markups (reply keyboards, removal) pass.
void check_inline_keyboard(const nlohmann::json& markup);

}  // namespace vpnbot::emulator
