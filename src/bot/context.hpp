#pragma once
// Internal to the bot's translation units: the per-update context and small keyboard helpers.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bot/bot.hpp"
#include "telegram/outbox.hpp"
#include "vpn/client_config.hpp"

namespace vpnbot::bot {

// One update on its way through the bot: the screens, gates and handlers all read and change it.
struct Context {
  const Bot& bot;
  db::Transaction& tx;
  User user;
  int64_t chat_id = 0;
  int64_t update_id = 0;
  std::string status_text;  // the "status" screen: the outcome of an action, shown in place of the menu
  std::optional<int64_t> pressed_message_id;  // a button's message: where a checkout's status is shown
};

// A text in the user's language.
inline std::string t(const Context& ctx, std::string_view key, const TextArgs& args = {}) {
  return ctx.bot.catalog().text(ctx.user.language, key, args);
}

// The user's next text message answers `awaiting` (a prompt such as {"await": "promo_code"}).
awaitable<void> expect_reply(Context& ctx, telegram::json awaiting);

// A new message in the user's chat (the answer to what they sent).
awaitable<void> reply(Context& ctx, std::string text, telegram::json reply_markup);

// The notice for work refused by a budget (logged the first time in a window).
std::string over_budget_notice(const Context& ctx, budgets::Kind kind, int retry_after_s, bool first);

// The main menu's buttons (bot/screens/menu.cpp); an admin also gets the panel's.
telegram::json main_menu_keyboard(const Context& ctx);

// "/start@MyBot ref_x" -> ("start", "ref_x")
std::pair<std::string, std::string> split_command(const std::string& text);

// A QR code of `content` (a config or a subscription link) as a photo with a caption.
inline awaitable<void> send_qr_photo(db::Transaction& tx, int64_t chat_id, std::string caption, std::string filename,
                                     const std::string& content) {
  telegram::OutMessage photo;
  photo.chat_id = chat_id;
  photo.method = "sendPhoto";
  photo.payload = {{"caption", std::move(caption)}};
  photo.files.push_back({"photo", std::move(filename), "image/png", vpn::qr_png(content)});
  co_await telegram::Outbox::enqueue(tx, photo);
}

inline telegram::json button(std::string text, std::string data) {
  return {{"text", std::move(text)}, {"callback_data", std::move(data)}};
}

inline telegram::json keyboard(std::vector<std::vector<telegram::json>> rows) {
  telegram::json k = telegram::json::array();
  for (auto& row : rows) k.push_back(std::move(row));
  return {{"inline_keyboard", std::move(k)}};
}

// "NL" -> the flag emoji (two regional indicator symbols); "" for anything else.
inline std::string flag(const std::string& country) {
  std::string out;
  for (char c : country) {
    if (c < 'A' || c > 'Z') return "";
    char32_t cp = 0x1F1E6 + (c - 'A');
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

}  // namespace vpnbot::bot
