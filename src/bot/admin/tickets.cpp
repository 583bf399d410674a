// Support tickets: the open ones, and whether an answer is overdue.
#include "support/tickets.hpp"
#include "bot/admin/page.hpp"

namespace vpnbot::bot::admin {

awaitable<Page> tickets(Context& ctx, const Args&) {
  auto open = co_await support::Tickets::list(ctx.tx, "open", 30);
  Page page{t(ctx, "admin.tickets.title") + "\n",
            {{route_button(t(ctx, "admin.refresh"), {"tickets"})}, {back_to(ctx, {"home"})}}};
  for (const auto& ticket : open)
    page.text += "\n" + t(ctx, "admin.tickets.line",
                          {{"id", std::to_string(ticket.id)},
                           {"user", std::to_string(ticket.user_id)},
                           {"messages", std::to_string(ticket.messages)},
                           {"status", ticket.waiting_minutes ? t(ctx, "admin.tickets.waiting",
                                                                 {{"minutes", std::to_string(*ticket.waiting_minutes)}})
                                                             : t(ctx, "admin.tickets.answered")}});
  if (open.empty()) page.text += "\n" + t(ctx, "admin.tickets.none");
  if (ctx.bot.options().support_chat_id == 0) page.text += "\n\n" + t(ctx, "admin.tickets.support_off");
  co_return page;
}

}  // namespace vpnbot::bot::admin
