#pragma once
// A screen of the bot: what a "m:<id>[:args]" button, a command or an action's outcome shows. Each screen is one
// function in the file of its feature under bot/screens/ and one line in registry.cpp; it reads the shop core and
// returns a view (text and buttons) that the bot sends or edits in place. Rules live in the shop core, not here.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/context.hpp"
#include "bot/routes.hpp"

namespace vpnbot::bot::screens {

struct View {
  std::string text;
  telegram::json markup;
};

// The screen's id and its arguments: "plan:3:g" -> {"plan", "3", "g"}.
using Args = std::vector<std::string>;
// A screen's function; nullopt: this screen is not offered here (its feature is off, nothing to show), the main
// menu instead.
using ScreenFunction = awaitable<std::optional<View>>(Context& ctx, const Args& args);
using Show = ScreenFunction*;

struct Screen {
  std::string_view id;
  Show show;
  bool purchase = false;  // in front of a purchase: behind the channel gate like the purchase buttons
  bool prompts = false;   // asks for the user's next message, so showing it keeps that prompt open
  bool listed = true;     // a menu screen (false: only an action's outcome or question, with its own arguments)
};

// nullptr for an id no screen has.
const Screen* find(std::string_view id);
const std::vector<Screen>& all();

// The main menu, where an unknown or withdrawn screen leads.
ScreenFunction menu;

// A "Back" button to `screen`, and a keyboard of that button alone.
inline telegram::json back_button(const Context& ctx, std::string_view screen = "menu") {
  return button(t(ctx, "common.back"), route::screen(screen));
}
inline telegram::json back_keyboard(const Context& ctx, std::string_view screen = "menu") {
  return keyboard({{back_button(ctx, screen)}});
}

}  // namespace vpnbot::bot::screens
