// The points exchange: all points to balance at the configured rate, once per press.
#include "billing/money.hpp"
#include "bot/actions/action.hpp"
#include "shop/account.hpp"

namespace vpnbot::bot::actions {

awaitable<Outcome> exchange_points(Context& ctx, const Args&) {
  auto exchanged = co_await shop::exchange_points(ctx.tx, ctx.user.id, "update:" + std::to_string(ctx.update_id));
  if (!exchanged) co_return answer(t(ctx, "balance.nothing"), "bal");
  co_return answer(
      t(ctx, "balance.exchanged",
        {{"points", std::to_string(exchanged->points)}, {"amount", billing::format_rub(exchanged->kopecks)}}),
      "bal");
}

}  // namespace vpnbot::bot::actions
