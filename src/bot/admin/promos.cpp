// Promo codes and promo groups: lists with switches, a new code, a new group, a user's group.
#include <sstream>

#include "billing/groups.hpp"
#include "billing/money.hpp"
#include "billing/promo.hpp"
#include "bot/admin/page.hpp"

namespace vpnbot::bot::admin {

awaitable<Page> promos(Context& ctx, const Args&) {
  auto codes = co_await billing::Promos::list(ctx.tx, 0, 30);
  Page page{t(ctx, "admin.promos.title") + "\n", {}};
  for (const auto& p : codes) {
    std::string value =
        (p.kind == "fixed" || p.kind == "balance") ? billing::format_rub(p.value) : std::to_string(p.value);
    page.text +=
        "\n" + t(ctx, "admin.promos.line",
                 {{"code", html_escape(p.code)},
                  {"kind", p.kind},
                  {"value", value},
                  {"uses", std::to_string(p.uses)},
                  {"max", p.max_uses ? t(ctx, "admin.promos.of_max", {{"max", std::to_string(*p.max_uses)}}) : ""},
                  {"off", off_mark(ctx, p.active)}});
    page.rows.push_back({route_button(toggle(ctx, p.active, p.code), {"po", p.code, p.active ? "0" : "1"})});
  }
  page.rows.push_back({route_button(t(ctx, "admin.promos.add"), {"poadd"})});
  page.rows.push_back({back_to(ctx, {"home"})});
  co_return page;
}

awaitable<Outcome> set_promo_active(Context& ctx, const Args& args) {
  ops::Actor actor = actor_of(ctx);
  co_await ops::Operations::set_promo_active(ctx.tx, actor, args[1], args[2] == "1");
  co_return Outcome{"", {"promos"}};
}

// "<code> <kind> <value> [max uses]"; plan-bound codes are the CLI's.
awaitable<Answer> answer_new_promo(Context& ctx, const json&, const std::string& text) {
  std::istringstream in(text);
  billing::NewPromo promo;
  std::string value;
  if (!(in >> promo.code >> promo.kind >> value)) throw std::invalid_argument(t(ctx, "admin.promos.expected"));
  if (int max_uses = 0; in >> max_uses) promo.max_uses = max_uses;
  if (promo.kind == "fixed" || promo.kind == "balance") {
    promo.value = billing::parse_rub(value);
  } else if (promo.kind == "percent" || promo.kind == "days") {
    promo.value = to_int(value).value_or(0);
  } else if (promo.kind == "group") {
    auto group = co_await billing::PromoGroups::by_name(ctx.tx, value);
    if (!group) throw std::invalid_argument(t(ctx, "admin.promos.no_group", {{"name", value}}));
    promo.group_id = group->id;
  } else {
    throw std::invalid_argument(t(ctx, "admin.promos.bad_kind"));
  }
  ops::Actor actor = actor_of(ctx);
  co_await ops::Operations::create_promo(ctx.tx, actor, promo);
  co_return Answer{{"promos"}, ""};
}

awaitable<Page> groups(Context& ctx, const Args&) {
  auto all = co_await billing::PromoGroups::list(ctx.tx);
  Page page{t(ctx, "admin.groups.title") + "\n", {}};
  for (const auto& g : all)
    page.text += "\n" + t(ctx, "admin.groups.line",
                          {{"name", html_escape(g.name)},
                           {"percent", std::to_string(g.plan_percent)},
                           {"members", std::to_string(g.members)}});
  if (all.empty()) page.text += "\n" + t(ctx, "admin.none_yet");
  page.rows = {
      {route_button(t(ctx, "admin.groups.new"), {"grpadd"}), route_button(t(ctx, "admin.groups.assign"), {"grpset"})},
      {back_to(ctx, {"home"})}};
  co_return page;
}

namespace {
// Two words and nothing after them, or the answer's expected form as the problem.
std::pair<std::string, std::string> two_words(const Context& ctx, const std::string& text, std::string_view expected) {
  std::istringstream in(text);
  std::string first, second, rest;
  in >> first >> second;
  std::getline(in >> std::ws, rest);
  if (second.empty() || !rest.empty()) throw std::invalid_argument(t(ctx, expected));
  return {first, second};
}
}  // namespace

// "<name> <percent>"
awaitable<Answer> answer_new_group(Context& ctx, const json&, const std::string& text) {
  auto [name, percent_text] = two_words(ctx, text, "admin.groups.expected");
  auto percent = to_int(percent_text);
  if (!percent) throw std::invalid_argument(t(ctx, "admin.groups.bad_percent"));
  ops::Actor actor = actor_of(ctx);
  co_await ops::Operations::create_group(ctx.tx, actor, name, static_cast<int>(*percent));
  co_return Answer{{"grp"}, ""};
}

// "<user id> <group>", "-" for none
awaitable<Answer> answer_group_of_user(Context& ctx, const json&, const std::string& text) {
  auto [user_text, name] = two_words(ctx, text, "admin.groups.expected_assign");
  auto user_id = to_int(user_text);
  if (!user_id) throw std::invalid_argument(t(ctx, "admin.groups.bad_user"));
  std::optional<std::string> group;
  if (name != "-") group = name;
  ops::Actor actor = actor_of(ctx);
  co_await ops::Operations::assign_group(ctx.tx, actor, *user_id, group);
  co_return Answer{{"grp"}, ""};
}

}  // namespace vpnbot::bot::admin
