// The promo code prompt: the user's next message is the code (bot/shop.cpp redeems it).
#include "bot/screens/screen.hpp"

namespace vpnbot::bot::screens {

awaitable<std::optional<View>> promo(Context& ctx, const Args&) {
  telegram::json awaiting{{"await", "promo_code"}};
  co_await expect_reply(ctx, std::move(awaiting));
  co_return View{t(ctx, "screen.promo.ask"), back_keyboard(ctx)};
}

}  // namespace vpnbot::bot::screens
