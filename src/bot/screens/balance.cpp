// Balance and points: the totals, the latest entries, and the points exchange when the points are worth something.
#include "bot/screens/screen.hpp"
#include "shop/account.hpp"

namespace vpnbot::bot::screens {

awaitable<std::optional<View>> balance(Context& ctx, const Args&) {
  auto summary = co_await shop::balance_summary(ctx.tx, ctx.user.id, 5);
  const auto& totals = summary.totals;
  std::string history;
  for (const auto& line : summary.recent) {
    std::string amount =
        line.account == "balance" ? billing::format_rub(line.amount) : std::to_string(line.amount) + " pt";
    if (line.amount > 0) amount = "+" + amount;
    history += "\n" + t(ctx, "balance.history_line",
                        {{"date", ctx.bot.clock().show_date(line.created_at)},
                         {"amount", amount},
                         {"source", t(ctx, "ledger." + line.source)}});
  }
  std::vector<std::vector<telegram::json>> rows;
  if (summary.points_worth > 0)
    rows.push_back(
        {button(t(ctx, "balance.exchange",
                  {{"points", std::to_string(totals.points)}, {"amount", billing::format_rub(summary.points_worth)}}),
                route::exchange_points())});
  rows.push_back({back_button(ctx)});
  co_return View{t(ctx, "screen.balance",
                   {{"balance", billing::format_rub(totals.balance)},
                    {"points", std::to_string(totals.points)},
                    {"history", history}}),
                 keyboard(std::move(rows))};
}

}  // namespace vpnbot::bot::screens
