// Traffic top-ups: "trf" lists the packages with this period's usage, "tpk:<id>" one package's payment methods.
#include "vpn/traffic.hpp"
#include "billing/ledger.hpp"
#include "billing/money.hpp"
#include "billing/traffic_packages.hpp"
#include "bot/screens/screen.hpp"

namespace vpnbot::bot::screens {

using telegram::json;

awaitable<std::optional<View>> traffic(Context& ctx, const Args& args) {
  const auto& lang = ctx.user.language;
  auto usage_now = co_await vpn::Traffic::usage(ctx.tx, ctx.user.id);
  std::string usage = usage_now && usage_now->limit_bytes
                          ? ctx.bot.traffic_text(lang, usage_now->used_bytes, *usage_now->limit_bytes)
                          : t(ctx, "traffic.no_limit");
  std::vector<std::vector<json>> rows;
  if (args[0] == "trf") {
    auto packages = co_await billing::TrafficPackages::list(ctx.tx, true);
    View view{t(ctx, "traffic.title", {{"usage", usage}}), nullptr};
    for (const auto& p : packages) {
      std::string gb = std::to_string(p.gb);
      view.text +=
          "\n" + t(ctx, "traffic.package_line",
                   {{"gb", gb}, {"price", billing::format_rub(p.price_rub)}, {"stars", std::to_string(p.price_stars)}});
      rows.push_back(
          {button(t(ctx, "traffic.package_button", {{"gb", gb}, {"price", billing::format_rub(p.price_rub)}}),
                  route::traffic_package(p.id))});
    }
    if (packages.empty()) view.text += "\n" + t(ctx, "traffic.none");
    rows.push_back({back_button(ctx, "sub")});
    view.markup = keyboard(std::move(rows));
    co_return view;
  }
  auto id = args.size() > 1 ? parse_id(args[1]) : std::nullopt;
  std::optional<billing::TrafficPackage> package;
  if (id) package = co_await billing::TrafficPackages::get(ctx.tx, *id);
  if (!package || !package->active) co_return View{t(ctx, "traffic.unavailable"), back_keyboard(ctx, "trf")};
  auto totals = co_await billing::Ledger::totals(ctx.tx, ctx.user.id);
  for (const auto& method : ctx.bot.options().payment_methods) {
    std::string label = method == "balance"
                            ? t(ctx, "method.balance", {{"balance", billing::format_rub(totals.balance)}})
                            : t(ctx, "method." + method);
    rows.push_back({button(label, route::pay_traffic(package->id, method))});
  }
  rows.push_back({back_button(ctx, "trf")});
  co_return View{t(ctx, "traffic.package",
                   {{"gb", std::to_string(package->gb)},
                    {"price", billing::format_rub(package->price_rub)},
                    {"stars", std::to_string(package->price_stars)},
                    {"usage", usage}}),
                 keyboard(std::move(rows))};
}

}  // namespace vpnbot::bot::screens
