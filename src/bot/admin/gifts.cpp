// Gifts: the latest gift codes and who redeemed them.
#include "billing/gifts.hpp"
#include "bot/admin/page.hpp"

namespace vpnbot::bot::admin {

awaitable<Page> gifts(Context& ctx, const Args&) {
  auto latest = co_await billing::Gifts::list(ctx.tx, std::nullopt, std::nullopt, INT64_MAX, 20);
  Page page{t(ctx, "admin.gifts.title") + "\n", {{back_to(ctx, {"home"})}}};
  for (const auto& g : latest)
    page.text +=
        "\n" + t(ctx, "admin.gifts.line",
                 {{"id", std::to_string(g.id)},
                  {"code", g.code},
                  {"buyer", std::to_string(g.buyer_id)},
                  {"order", std::to_string(g.order_id)},
                  {"days", std::to_string(g.days)},
                  {"state", g.state},
                  {"by", g.redeemed_by ? t(ctx, "admin.gifts.by", {{"user", std::to_string(*g.redeemed_by)}}) : ""}});
  if (latest.empty()) page.text += "\n" + t(ctx, "admin.none_yet");
  co_return page;
}

}  // namespace vpnbot::bot::admin
