// The main menu, help, the language choice, and the outcome of an action shown in place of the menu.
#include "bot/screens/screen.hpp"

namespace vpnbot::bot {

telegram::json main_menu_keyboard(const Context& ctx) {
  auto m = [&](std::string_view key, const char* screen) { return button(t(ctx, key), route::screen(screen)); };
  std::vector<std::vector<telegram::json>> rows{{m("menu.buy", "buy")},
                                                {m("menu.subscription", "sub"), m("menu.configs", "cfg")},
                                                {m("menu.balance", "bal"), m("menu.referral", "ref")},
                                                {m("menu.promo", "promo"), m("menu.help", "help")},
                                                {m("menu.language", "lang")}};
  if (ctx.bot.options().support_chat_id != 0) rows.back().push_back(m("menu.support", "support"));
  if (ctx.bot.is_admin(ctx)) rows.push_back({button(t(ctx, "menu.admin"), route::admin({"home"}))});
  return keyboard(std::move(rows));
}

namespace screens {

awaitable<std::optional<View>> menu(Context& ctx, const Args&) {
  co_return View{t(ctx, "menu.title"), main_menu_keyboard(ctx)};
}

awaitable<std::optional<View>> help(Context& ctx, const Args&) {
  co_return View{t(ctx, "screen.help"), back_keyboard(ctx)};
}

awaitable<std::optional<View>> language(Context& ctx, const Args&) {
  co_return View{t(ctx, "screen.language"),
                 keyboard({{button("🇬🇧 English", route::language("en")), button("🇷🇺 Русский", route::language("ru"))},
                           {button("🇺🇦 Українська", route::language("uk")), button("🇨🇳 中文", route::language("zh"))},
                           {back_button(ctx)}})};
}

awaitable<std::optional<View>> status(Context& ctx, const Args&) {
  if (ctx.status_text.empty()) co_return std::nullopt;
  co_return View{ctx.status_text, back_keyboard(ctx)};
}

}  // namespace screens
}  // namespace vpnbot::bot
