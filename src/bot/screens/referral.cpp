// The referral program: the user's link, the percents per level, friends per level, and what they earned.
#include "bot/screens/screen.hpp"
#include "shop/account.hpp"

namespace vpnbot::bot::screens {

awaitable<std::optional<View>> referral(Context& ctx, const Args&) {
  const auto& options = ctx.bot.options();
  auto summary = co_await shop::referral_summary(ctx.tx, options.billing.referral_percents, ctx.user.id);
  std::string percents, levels;
  for (size_t i = 0; i < summary.percents.size(); ++i) {
    percents += (i ? "/" : "") + std::to_string(summary.percents[i]);
    levels += t(ctx, "referral.level_line",
                {{"level", std::to_string(i + 1)},
                 {"friends", ctx.bot.catalog().plural(ctx.user.language, "plural.friends", summary.per_level[i])}}) +
              "\n";
  }
  if (!percents.empty()) percents += "%";
  std::string link = "https://t.me/" + options.bot_username + "?start=ref_" + summary.code;
  co_return View{
      t(ctx, "screen.referral",
        {{"percents", percents}, {"link", link}, {"levels", levels}, {"earned", billing::format_rub(summary.earned)}}),
      keyboard({{back_button(ctx)}})};
}

}  // namespace vpnbot::bot::screens
