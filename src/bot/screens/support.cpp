// The Support screen: the open ticket, if any, and a prompt whose answer opens or continues one (bot/support.cpp).
#include "bot/screens/screen.hpp"
#include "support/tickets.hpp"

namespace vpnbot::bot::screens {

awaitable<std::optional<View>> support(Context& ctx, const Args&) {
  if (ctx.bot.options().support_chat_id == 0) co_return std::nullopt;
  auto ticket = co_await support::Tickets::open_of(ctx.tx, ctx.user.id);
  View view{t(ctx, "support.intro"), nullptr};
  std::vector<std::vector<telegram::json>> rows;
  if (ticket) {
    view.text += "\n\n" + t(ctx, "support.open_ticket", {{"id", std::to_string(ticket->id)}});
    rows.push_back({button(t(ctx, "support.close_button"), route::close_ticket(ticket->id))});
  }
  telegram::json awaiting{{"await", "support"}};
  co_await expect_reply(ctx, std::move(awaiting));
  rows.push_back({back_button(ctx)});
  view.markup = keyboard(std::move(rows));
  co_return view;
}

}  // namespace vpnbot::bot::screens
