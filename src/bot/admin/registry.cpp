// The admin panel's routes and questions. A new page or action is a function in its feature's file, declared and
// listed here.
#include "bot/registry.hpp"
#include "bot/admin/page.hpp"

namespace vpnbot::bot::admin {

// Each function, by the file that defines it.
PageFunction statistics, audit_log;                                      // home.cpp (and home)
PageFunction user_card, balance_prompt, refund_confirm;                  // users.cpp
ActionFunction grant_days, set_banned, refund;                           //
ReplyFunction answer_find, answer_balance;                               //
PageFunction plans;                                                      // plans.cpp
ActionFunction set_plan_active;                                          //
ReplyFunction answer_new_plan, answer_plan_change;                       //
PageFunction promos, groups;                                             // promos.cpp
ActionFunction set_promo_active;                                         //
ReplyFunction answer_new_promo, answer_new_group, answer_group_of_user;  //
PageFunction traffic_packages;                                           // traffic.cpp
ActionFunction set_package_active;                                       //
PageFunction gifts;                                                      // gifts.cpp
PageFunction tickets;                                                    // tickets.cpp
PageFunction nodes;                                                      // nodes.cpp
ActionFunction set_node_state;                                           //
PageFunction broadcasts, broadcast_text, broadcast_status;               // broadcast.cpp
ActionFunction check_audience, steer_broadcast;                          //
ReplyFunction answer_broadcast_text;                                     //
PageFunction maintenance;                                                // maintenance.cpp
ActionFunction switch_maintenance;                                       //

namespace {
// The pages that only ask their question: the route, what the answer is awaited as, the question, where back leads.
struct PlainQuestion {
  std::string_view route, awaits, text, back;
};
const PlainQuestion kPlainQuestions[] = {
    {"find", "admin_find", "admin.find.prompt", "home"},
    {"padd", "admin_plan", "admin.plans.add_prompt", "plans"},
    {"pedit", "admin_plan_set", "admin.plans.change_prompt", "plans"},
    {"poadd", "admin_promo", "admin.promos.add_prompt", "promos"},
    {"grpadd", "admin_group", "admin.groups.add_prompt", "grp"},
    {"grpset", "admin_group_set", "admin.groups.assign_prompt", "grp"},
};
}  // namespace

awaitable<Page> ask(Context& ctx, const Args& args) {
  const PlainQuestion* asked = find_entry(kPlainQuestions, &PlainQuestion::route, args[0]);
  if (!asked) throw std::logic_error("the admin route " + args[0] + " has no question listed");
  json awaiting{{"await", std::string(asked->awaits)}};
  co_await expect_reply(ctx, std::move(awaiting));
  co_return question(ctx, t(ctx, asked->text), {std::string(asked->back)});
}

std::span<const Route> routes() {
  static const std::vector<Route> table{
      {"home", 0, home},
      {"st", 0, statistics},
      {"audit", 0, audit_log},
      {"find", 0, ask, nullptr, true},
      {"u", 1, user_card},
      {"gd", 2, nullptr, grant_days},
      {"ban", 1, nullptr, set_banned},
      {"unban", 1, nullptr, set_banned},
      {"bal", 1, balance_prompt, nullptr, true},
      {"rf", 1, refund_confirm},
      {"rfy", 1, nullptr, refund},
      {"plans", 0, plans},
      {"pa", 2, nullptr, set_plan_active},
      {"padd", 0, ask, nullptr, true},
      {"pedit", 0, ask, nullptr, true},
      {"promos", 0, promos},
      {"po", 2, nullptr, set_promo_active},
      {"poadd", 0, ask, nullptr, true},
      {"grp", 0, groups},
      {"grpadd", 0, ask, nullptr, true},
      {"grpset", 0, ask, nullptr, true},
      {"trf", 0, traffic_packages},
      {"ta", 2, nullptr, set_package_active},
      {"gifts", 0, gifts},
      {"tickets", 0, tickets},
      {"nodes", 0, nodes},
      {"ns", 2, nullptr, set_node_state},
      {"bc", 0, broadcasts},
      {"bcn", 1, broadcast_text, check_audience, true},
      {"bcs", 1, broadcast_status},
      {"bcgo", 1, nullptr, steer_broadcast},
      {"bcp", 1, nullptr, steer_broadcast},
      {"bcx", 1, nullptr, steer_broadcast},
      {"mt", 0, maintenance},
      {"mts", 1, nullptr, switch_maintenance},
  };
  return table;
}

std::span<const Question> questions() {
  static const std::vector<Question> table{
      {"admin_find", answer_find},
      {"admin_balance", answer_balance},
      {"admin_plan", answer_new_plan},
      {"admin_plan_set", answer_plan_change},
      {"admin_promo", answer_new_promo},
      {"admin_group", answer_new_group},
      {"admin_group_set", answer_group_of_user},
      {"admin_broadcast", answer_broadcast_text},
  };
  return table;
}

const Route* find(std::string_view id) {
  return find_entry(routes(), &Route::id, id);
}

const Question* find_question(std::string_view awaits) {
  return find_entry(questions(), &Question::awaits, awaits);
}

}  // namespace vpnbot::bot::admin
