// Buttons that move around the bot: a screen, "I've subscribed" past the channel gate, an Accept pressed again, and
// the language.
#include "bot/actions/action.hpp"
#include "bot/users.hpp"

namespace vpnbot::bot::actions {

awaitable<Outcome> open_screen(Context& ctx, const Args& args) {
  if (args.empty()) co_return not_understood();
  co_return answer("", args[0]);
}

// The channel gate let it through: on to the shop.
awaitable<Outcome> channels_joined(Context& ctx, const Args&) {
  co_return answer("", "buy");
}

// The terms are accepted already: go on, and the terms stay readable above a fresh menu.
awaitable<Outcome> accept_terms_again(Context& ctx, const Args&) {
  Outcome outcome = answer(t(ctx, "rules.already"), "menu");
  outcome.new_message = true;
  co_return outcome;
}

awaitable<Outcome> choose_language(Context& ctx, const Args& args) {
  if (args.empty() || !ctx.bot.catalog().has_language(args[0])) co_return not_understood();
  ctx.user.language = args[0];
  co_await Users::set_language(ctx.tx, ctx.user.id, ctx.user.language);
  co_return answer(t(ctx, "language.changed"), "menu");
}

}  // namespace vpnbot::bot::actions
