// Plans: the list with on/off switches, a new plan, a change of one field.
#include <sstream>

#include "billing/money.hpp"
#include "billing/store.hpp"
#include "bot/admin/page.hpp"

namespace vpnbot::bot::admin {

awaitable<Page> plans(Context& ctx, const Args&) {
  auto all = co_await billing::Plans::all(ctx.tx);
  Page page{t(ctx, "admin.plans.title") + "\n", {}};
  for (const auto& p : all) {
    page.text +=
        "\n" + t(ctx, "admin.plans.line",
                 {{"code", html_escape(p.code)},
                  {"title", html_escape(p.title_for(ctx.user.language))},
                  {"days", std::to_string(p.days)},
                  {"rub", billing::format_rub(p.price_rub)},
                  {"stars", std::to_string(p.price_stars)},
                  {"devices", std::to_string(p.device_limit)},
                  {"traffic", p.traffic_gb ? std::to_string(*p.traffic_gb) + " GB" : t(ctx, "admin.plans.unlimited")},
                  {"hidden", p.hidden ? t(ctx, "admin.plans.hidden") : ""},
                  {"off", off_mark(ctx, p.active)}});
    page.rows.push_back({route_button(toggle(ctx, p.active, p.code), {"pa", p.code, p.active ? "0" : "1"})});
  }
  page.rows.push_back(
      {route_button(t(ctx, "admin.plans.add"), {"padd"}), route_button(t(ctx, "admin.plans.change"), {"pedit"})});
  page.rows.push_back({back_to(ctx, {"home"})});
  co_return page;
}

awaitable<Outcome> set_plan_active(Context& ctx, const Args& args) {
  std::string field = "active", value = args[2] == "1" ? "true" : "false";
  ops::Actor actor = actor_of(ctx);
  co_await ops::Operations::set_plan_field(ctx.tx, actor, args[1], field, value);
  co_return Outcome{"", {"plans"}};
}

// "<code> <days> <price_rub> <price_stars> <devices> <title>"
awaitable<Answer> answer_new_plan(Context& ctx, const json&, const std::string& text) {
  std::istringstream in(text);
  billing::NewPlan plan;
  std::string price_rub, title;
  if (!(in >> plan.code >> plan.days >> price_rub >> plan.price_stars >> plan.device_limit))
    throw std::invalid_argument(t(ctx, "admin.plans.expected"));
  std::getline(in >> std::ws, title);
  if (title.empty()) throw std::invalid_argument(t(ctx, "admin.plans.no_title"));
  plan.price_rub = billing::parse_rub(price_rub);
  plan.title = {{"en", title}, {"ru", title}};
  ops::Actor actor = actor_of(ctx);
  co_await ops::Operations::create_plan(ctx.tx, actor, plan);
  co_return Answer{{"plans"}, ""};
}

// "<code> <field> <value>"
awaitable<Answer> answer_plan_change(Context& ctx, const json&, const std::string& text) {
  std::istringstream in(text);
  std::string code, field, value;
  in >> code >> field;
  std::getline(in >> std::ws, value);
  if (value.empty()) throw std::invalid_argument(t(ctx, "admin.plans.expected_change"));
  if (field == "price_rub") value = std::to_string(billing::parse_rub(value));
  ops::Actor actor = actor_of(ctx);
  bool changed = co_await ops::Operations::set_plan_field(ctx.tx, actor, code, field, value);
  if (!changed) throw std::invalid_argument(t(ctx, "admin.plans.no_plan", {{"code", code}}));
  co_return Answer{{"plans"}, ""};
}

}  // namespace vpnbot::bot::admin
