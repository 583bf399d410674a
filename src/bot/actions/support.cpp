// Closing one's own support ticket from the Support screen.
#include "bot/actions/action.hpp"
#include "shop/tickets.hpp"

namespace vpnbot::bot::actions {

awaitable<Outcome> close_ticket(Context& ctx, const Args& args) {
  if (ctx.bot.options().support_chat_id == 0) co_return not_understood();
  auto id = args.size() == 2 && args[0] == "c" ? parse_id(args[1]) : std::nullopt;
  if (!id) co_return answer(t(ctx, "error.menu_expired"), "support");
  auto closed = co_await shop::close_own_ticket(ctx.tx, ctx.bot.support_settings(), ctx.user.id, *id,
                                                std::to_string(ctx.update_id));
  switch (closed) {
    case shop::TicketClose::closed:
      co_return answer(t(ctx, "support.closed_by_you", {{"id", args[1]}}), "support");
    case shop::TicketClose::already_closed:
      co_return answer(t(ctx, "support.already_closed"), "support");
    case shop::TicketClose::not_found:
      break;
  }
  co_return answer(t(ctx, "error.menu_expired"), "support");
}

}  // namespace vpnbot::bot::actions
