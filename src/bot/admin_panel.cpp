// The admin panel inside the bot, for the Telegram ids in admin_ids only. Every screen and action is checked
// here, before anything is read or changed; a non-admin gets the same refusal for every admin route. Actions go
// through ops::Operations, which writes the audit row in the same transaction as the change.
#include <fmt/format.h>

#include <charconv>
#include <sstream>

#include "billing/gifts.hpp"
#include "billing/groups.hpp"
#include "billing/money.hpp"
#include "billing/promo.hpp"
#include "billing/traffic_packages.hpp"
#include "bot/callback.hpp"
#include "bot/context.hpp"
#include "bot/routes.hpp"
#include "broadcast/broadcasts.hpp"
#include "core/log.hpp"
#include "ops/maintenance.hpp"
#include "ops/operations.hpp"
#include "ops/stats.hpp"
#include "ops/user_card.hpp"
#include "support/tickets.hpp"

namespace vpnbot::bot {

using telegram::json;
using telegram::OutMessage;

namespace {

json admin_button(std::string text, std::vector<std::string> args) {
  return button(std::move(text), route::admin(std::move(args)));
}

// The panel's back button, labelled in the admin's language.
json back_button(std::string label, std::vector<std::string> screen) {
  return admin_button(std::move(label), std::move(screen));
}

std::optional<int64_t> to_int(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Arguments each admin callback takes (the route table the admin-only test walks).
const std::map<std::string, size_t>& admin_routes() {
  static const std::map<std::string, size_t> routes{
      {"home", 0},   {"st", 0},     {"find", 0},   {"u", 1},     {"gd", 2},      {"ban", 1},  {"unban", 1},
      {"bal", 1},    {"rf", 1},     {"rfy", 1},    {"plans", 0}, {"pa", 2},      {"padd", 0}, {"pedit", 0},
      {"promos", 0}, {"po", 2},     {"poadd", 0},  {"nodes", 0}, {"ns", 2},      {"bc", 0},   {"bcn", 1},
      {"bcs", 1},    {"bcgo", 1},   {"bcp", 1},    {"bcx", 1},   {"audit", 0},   {"mt", 0},   {"mts", 1},
      {"grp", 0},    {"grpadd", 0}, {"grpset", 0}, {"gifts", 0}, {"tickets", 0}, {"trf", 0},  {"ta", 2}};
  return routes;
}

const std::set<std::string> kBroadcastAudiences{"all", "active", "expired", "never_paid", "trial"};

}  // namespace

std::set<std::string> Bot::admin_actions() {
  std::set<std::string> out;
  for (const auto& [name, arity] : admin_routes()) out.insert(name);
  return out;
}

bool Bot::is_admin(const Context& ctx) const {
  return options_.admin_ids.count(ctx.user.id) > 0;
}

awaitable<void> Bot::present(Context& ctx, std::string text, json markup, std::optional<int64_t> edit_message_id) {
  if (edit_message_id) {
    OutMessage edit;
    edit.chat_id = ctx.chat_id;
    edit.method = "editMessageText";
    edit.payload = {{"message_id", *edit_message_id}, {"text", text}, {"parse_mode", "HTML"}, {"reply_markup", markup}};
    co_await telegram::Outbox::enqueue(ctx.tx, edit);
  } else {
    co_await reply(ctx, std::move(text), std::move(markup));
  }
}

awaitable<void> Bot::show_admin_screen(Context& ctx, const std::vector<std::string>& screen,
                                       std::optional<int64_t> edit_message_id) {
  const std::string& name = screen.empty() ? std::string("home") : screen[0];
  auto back_to = [&](std::vector<std::string> to) { return back_button(t(ctx, "admin.back"), std::move(to)); };
  auto off_mark = [&](bool active) { return active ? std::string() : t(ctx, "admin.off_mark"); };
  auto toggle = [&](bool active, const std::string& what) {
    return t(ctx, active ? "admin.turn_off" : "admin.turn_on", {{"name", what}});
  };
  std::string text;
  std::vector<std::vector<json>> rows;
  if (name == "st") {
    auto stats = co_await ops::collect_stats(ctx.tx);
    text = t(ctx, "admin.stats.title") + "\n\n" + stats.render(true);
    rows = {{admin_button(t(ctx, "admin.refresh"), {"st"})}, {back_to({"home"})}};
  } else if (name == "find") {
    json awaiting{{"await", "admin_find"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = t(ctx, "admin.find.prompt");
    rows = {{back_to({"home"})}};
  } else if (name == "u" && screen.size() > 1) {
    auto id = to_int(screen[1]).value_or(0);
    auto card = co_await ops::load_user_card(ctx.tx, id,
                                             options_.billing.referral_percents.size() > 0
                                                 ? static_cast<int>(options_.billing.referral_percents.size())
                                                 : 1);
    if (!card) {
      text = t(ctx, "admin.user.none", {{"id", html_escape(screen[1])}});
      rows = {{admin_button(t(ctx, "admin.home.find"), {"find"})}, {back_to({"home"})}};
    } else {
      std::string uid = std::to_string(card->id);
      text = "👤 " + card->render(true);
      rows = {{admin_button(t(ctx, "admin.user.add_days", {{"days", "7"}}), {"gd", uid, "7"}),
               admin_button(t(ctx, "admin.user.add_days", {{"days", "30"}}), {"gd", uid, "30"})},
              {card->banned ? admin_button(t(ctx, "admin.user.unban"), {"unban", uid})
                            : admin_button(t(ctx, "admin.user.ban"), {"ban", uid}),
               admin_button(t(ctx, "admin.user.balance"), {"bal", uid})}};
      for (const auto& o : card->orders)
        if (o.state == "paid" && (o.provider == "stars" || o.provider == "balance"))
          rows.push_back(
              {admin_button(t(ctx, "admin.user.refund", {{"order", std::to_string(o.id)}, {"provider", o.provider}}),
                            {"rf", std::to_string(o.id)})});
      rows.push_back({back_to({"home"})});
    }
  } else if (name == "rf" && screen.size() > 1) {
    auto order = co_await billing::Orders::get(ctx.tx, to_int(screen[1]).value_or(0));
    if (!order) {
      text = t(ctx, "admin.refund.none");
      rows = {{back_to({"home"})}};
    } else {
      text = t(ctx, "admin.refund.confirm",
               {{"order", std::to_string(order->id)},
                {"user", std::to_string(order->user_id)},
                {"amount", std::to_string(order->amount)},
                {"currency", order->currency},
                {"provider", order->provider},
                {"state", order->state}});
      rows = {{admin_button(t(ctx, "admin.refund.yes"), {"rfy", std::to_string(order->id)})},
              {back_to({"u", std::to_string(order->user_id)})}};
    }
  } else if (name == "plans") {
    auto plans = co_await billing::Plans::all(ctx.tx);
    text = t(ctx, "admin.plans.title") + "\n";
    for (const auto& p : plans) {
      text +=
          "\n" + t(ctx, "admin.plans.line",
                   {{"code", html_escape(p.code)},
                    {"title", html_escape(p.title_for(ctx.user.language))},
                    {"days", std::to_string(p.days)},
                    {"rub", billing::format_rub(p.price_rub)},
                    {"stars", std::to_string(p.price_stars)},
                    {"devices", std::to_string(p.device_limit)},
                    {"traffic", p.traffic_gb ? std::to_string(*p.traffic_gb) + " GB" : t(ctx, "admin.plans.unlimited")},
                    {"hidden", p.hidden ? t(ctx, "admin.plans.hidden") : ""},
                    {"off", off_mark(p.active)}});
      rows.push_back({admin_button(toggle(p.active, p.code), {"pa", p.code, p.active ? "0" : "1"})});
    }
    rows.push_back(
        {admin_button(t(ctx, "admin.plans.add"), {"padd"}), admin_button(t(ctx, "admin.plans.change"), {"pedit"})});
    rows.push_back({back_to({"home"})});
  } else if (name == "padd") {
    json awaiting{{"await", "admin_plan"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = t(ctx, "admin.plans.add_prompt");
    rows = {{back_to({"plans"})}};
  } else if (name == "pedit") {
    json awaiting{{"await", "admin_plan_set"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = t(ctx, "admin.plans.change_prompt");
    rows = {{back_to({"plans"})}};
  } else if (name == "promos") {
    auto promos = co_await billing::Promos::list(ctx.tx, 0, 30);
    text = t(ctx, "admin.promos.title") + "\n";
    for (const auto& p : promos) {
      std::string value =
          (p.kind == "fixed" || p.kind == "balance") ? billing::format_rub(p.value) : std::to_string(p.value);
      text +=
          "\n" + t(ctx, "admin.promos.line",
                   {{"code", html_escape(p.code)},
                    {"kind", p.kind},
                    {"value", value},
                    {"uses", std::to_string(p.uses)},
                    {"max", p.max_uses ? t(ctx, "admin.promos.of_max", {{"max", std::to_string(*p.max_uses)}}) : ""},
                    {"off", off_mark(p.active)}});
      rows.push_back({admin_button(toggle(p.active, p.code), {"po", p.code, p.active ? "0" : "1"})});
    }
    rows.push_back({admin_button(t(ctx, "admin.promos.add"), {"poadd"})});
    rows.push_back({back_to({"home"})});
  } else if (name == "poadd") {
    json awaiting{{"await", "admin_promo"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = t(ctx, "admin.promos.add_prompt");
    rows = {{back_to({"promos"})}};
  } else if (name == "grp") {
    auto groups = co_await billing::PromoGroups::list(ctx.tx);
    text = t(ctx, "admin.groups.title") + "\n";
    for (const auto& g : groups)
      text += "\n" + t(ctx, "admin.groups.line",
                       {{"name", html_escape(g.name)},
                        {"percent", std::to_string(g.plan_percent)},
                        {"members", std::to_string(g.members)}});
    if (groups.empty()) text += "\n" + t(ctx, "admin.none_yet");
    rows = {
        {admin_button(t(ctx, "admin.groups.new"), {"grpadd"}), admin_button(t(ctx, "admin.groups.assign"), {"grpset"})},
        {back_to({"home"})}};
  } else if (name == "grpadd") {
    json awaiting{{"await", "admin_group"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = t(ctx, "admin.groups.add_prompt");
    rows = {{back_to({"grp"})}};
  } else if (name == "grpset") {
    json awaiting{{"await", "admin_group_set"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = t(ctx, "admin.groups.assign_prompt");
    rows = {{back_to({"grp"})}};
  } else if (name == "trf") {
    auto packages = co_await billing::TrafficPackages::list(ctx.tx, false);
    text = t(ctx, "admin.traffic.title") + "\n";
    for (const auto& p : packages) {
      std::string id = std::to_string(p.id), gb = std::to_string(p.gb);
      text += "\n" + t(ctx, "admin.traffic.line",
                       {{"id", id},
                        {"gb", gb},
                        {"rub", billing::format_rub(p.price_rub)},
                        {"stars", std::to_string(p.price_stars)},
                        {"off", off_mark(p.active)}});
      std::string package = t(ctx, "admin.traffic.package", {{"id", id}, {"gb", gb}});
      rows.push_back({admin_button(toggle(p.active, package), {"ta", id, p.active ? "0" : "1"})});
    }
    if (packages.empty()) text += "\n" + t(ctx, "admin.none_yet");
    rows.push_back({back_to({"home"})});
  } else if (name == "gifts") {
    auto gifts = co_await billing::Gifts::list(ctx.tx, std::nullopt, std::nullopt, INT64_MAX, 20);
    text = t(ctx, "admin.gifts.title") + "\n";
    for (const auto& g : gifts)
      text +=
          "\n" + t(ctx, "admin.gifts.line",
                   {{"id", std::to_string(g.id)},
                    {"code", g.code},
                    {"buyer", std::to_string(g.buyer_id)},
                    {"order", std::to_string(g.order_id)},
                    {"days", std::to_string(g.days)},
                    {"state", g.state},
                    {"by", g.redeemed_by ? t(ctx, "admin.gifts.by", {{"user", std::to_string(*g.redeemed_by)}}) : ""}});
    if (gifts.empty()) text += "\n" + t(ctx, "admin.none_yet");
    rows = {{back_to({"home"})}};
  } else if (name == "tickets") {
    auto open = co_await support::Tickets::list(ctx.tx, "open", 30);
    text = t(ctx, "admin.tickets.title") + "\n";
    for (const auto& ticket : open)
      text += "\n" + t(ctx, "admin.tickets.line",
                       {{"id", std::to_string(ticket.id)},
                        {"user", std::to_string(ticket.user_id)},
                        {"messages", std::to_string(ticket.messages)},
                        {"status", ticket.waiting_minutes ? t(ctx, "admin.tickets.waiting",
                                                              {{"minutes", std::to_string(*ticket.waiting_minutes)}})
                                                          : t(ctx, "admin.tickets.answered")}});
    if (open.empty()) text += "\n" + t(ctx, "admin.tickets.none");
    if (options_.support_chat_id == 0) text += "\n\n" + t(ctx, "admin.tickets.support_off");
    rows = {{admin_button(t(ctx, "admin.refresh"), {"tickets"})}, {back_to({"home"})}};
  } else if (name == "nodes") {
    auto stats = co_await ops::collect_stats(ctx.tx);
    text = t(ctx, "admin.nodes.title") + "\n";
    for (const auto& n : stats.nodes) {
      text += "\n" + t(ctx, "admin.nodes.line",
                       {{"name", html_escape(n.name)},
                        {"state", n.state},
                        {"active", std::to_string(n.active_peers)},
                        {"used", std::to_string(n.pool_size - n.pool_free)},
                        {"size", std::to_string(n.pool_size)}});
      std::vector<json> row;
      for (const char* state : {"enabled", "draining", "disabled"})
        if (n.state != state)
          row.push_back(admin_button(t(ctx, "admin.nodes.set_state", {{"state", state}, {"name", n.name}}),
                                     {"ns", n.name, state}));
      rows.push_back(std::move(row));
    }
    if (stats.nodes.empty()) text += "\n" + t(ctx, "admin.nodes.none");
    rows.push_back({back_to({"home"})});
  } else if (name == "bc") {
    text = t(ctx, "admin.broadcast.title");
    for (const auto& audience : kBroadcastAudiences) rows.push_back({admin_button(audience, {"bcn", audience})});
    auto recent = co_await broadcast::Broadcasts::list(ctx.tx, 5);
    for (const auto& p : recent)
      rows.push_back({admin_button(
          t(ctx, "admin.broadcast.item", {{"id", std::to_string(p.id)}, {"audience", p.audience}, {"state", p.state}}),
          {"bcs", std::to_string(p.id)})});
    rows.push_back({back_to({"home"})});
  } else if (name == "bcn" && screen.size() > 1) {
    json awaiting{{"await", "admin_broadcast"}, {"audience", screen[1]}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = t(ctx, "admin.broadcast.prompt", {{"audience", html_escape(screen[1])}});
    rows = {{back_to({"bc"})}};
  } else if (name == "bcs" && screen.size() > 1) {
    auto id = to_int(screen[1]).value_or(0);
    auto progress = co_await broadcast::Broadcasts::progress(ctx.tx, id);
    if (!progress) {
      text = t(ctx, "admin.broadcast.none");
    } else {
      std::string sid = std::to_string(id);
      text = t(ctx, "admin.broadcast.status", {{"id", sid}, {"summary", html_escape(progress->summary())}});
      std::vector<json> row;
      if (progress->state == "draft" || progress->state == "paused")
        row.push_back(admin_button(
            t(ctx, progress->state == "draft" ? "admin.broadcast.start" : "admin.broadcast.resume"), {"bcgo", sid}));
      if (progress->state == "running") row.push_back(admin_button(t(ctx, "admin.broadcast.pause"), {"bcp", sid}));
      if (progress->state != "cancelled" && progress->state != "done")
        row.push_back(admin_button(t(ctx, "admin.broadcast.cancel"), {"bcx", sid}));
      if (!row.empty()) rows.push_back(std::move(row));
      rows.push_back({admin_button(t(ctx, "admin.refresh"), {"bcs", sid})});
    }
    rows.push_back({back_to({"bc"})});
  } else if (name == "mt") {
    auto maintenance = co_await ops::Maintenance::current(ctx.tx);
    text = t(ctx, "admin.maintenance.title",
             {{"state", t(ctx, maintenance.on ? "admin.maintenance.on" : "admin.maintenance.off")},
              {"since", maintenance.changed_at}}) +
           "\n\n" + t(ctx, maintenance.on ? "admin.maintenance.about_on" : "admin.maintenance.about_off");
    if (maintenance.message)
      text += "\n" + t(ctx, "admin.maintenance.message", {{"message", html_escape(*maintenance.message)}});
    text += "\n" + t(ctx, "admin.maintenance.how");
    rows = {{admin_button(t(ctx, maintenance.on ? "admin.maintenance.turn_off" : "admin.maintenance.turn_on"),
                          {"mts", maintenance.on ? "0" : "1"})},
            {back_to({"home"})}};
  } else if (name == "audit") {
    auto entries = co_await ops::Audit::recent(ctx.tx, 15);
    text = t(ctx, "admin.audit.title") + "\n";
    for (const auto& e : entries)
      text += "\n" + t(ctx, "admin.audit.line",
                       {{"at", e.created_at},
                        {"action", e.action},
                        {"actor", std::to_string(e.actor_id)},
                        {"via", e.via},
                        {"target", e.target_user_id ? " → " + std::to_string(*e.target_user_id) : ""},
                        {"details", html_escape(e.details.dump())}});
    if (entries.empty()) text += "\n" + t(ctx, "admin.audit.empty");
    rows = {{back_to({"home"})}};
  } else {
    auto maintenance = co_await ops::Maintenance::current(ctx.tx);
    text = t(ctx, "admin.home.title");
    if (maintenance.on) text += "\n" + t(ctx, "admin.home.maintenance_on");
    auto page = [&](std::string_view key, std::string route) { return admin_button(t(ctx, key), {std::move(route)}); };
    rows = {{page("admin.home.stats", "st"), page("admin.home.find", "find")},
            {page("admin.home.plans", "plans"), page("admin.home.promos", "promos")},
            {page("admin.home.nodes", "nodes"), page("admin.home.broadcast", "bc")},
            {page("admin.home.groups", "grp"), page("admin.home.gifts", "gifts")},
            {page("admin.home.tickets", "tickets"), page("admin.home.traffic", "trf")},
            {page("admin.home.audit", "audit"),
             page(maintenance.on ? "admin.home.maintenance_is_on" : "admin.home.maintenance", "mt")},
            {button(t(ctx, "common.back"), encode_callback("m", {"menu"}))}};
  }
  bool prompting = ctx.user.conversation.is_object() &&
                   ctx.user.conversation.value("await", "").rfind("admin_", 0) == 0 &&
                   (name == "find" || name == "padd" || name == "pedit" || name == "poadd" || name == "bcn" ||
                    name == "grpadd" || name == "grpset");
  if (!prompting && !ctx.user.conversation.is_null()) {
    json none;
    co_await Users::set_conversation(ctx.tx, ctx.user.id, none);  // leaving a prompt cancels it
    ctx.user.conversation = nullptr;
  }
  co_await present(ctx, std::move(text), keyboard(std::move(rows)), edit_message_id);
}

awaitable<void> Bot::on_admin_callback(Context& ctx, const std::string& query_id, const std::vector<std::string>& args,
                                       std::optional<int64_t> message_id) {
  OutMessage answer;
  answer.chat_id = ctx.chat_id;
  answer.method = "answerCallbackQuery";
  answer.payload = {{"callback_query_id", query_id}};
  auto route = args.empty() ? admin_routes().end() : admin_routes().find(args[0]);
  if (!is_admin(ctx)) {
    log::warn("admin", "admin route refused to a non-admin",
              {{"user_id", ctx.user.id}, {"route", args.empty() ? "" : args[0]}});
    answer.payload["text"] = t(ctx, "admin.refused");
    co_await telegram::Outbox::enqueue(ctx.tx, answer);
    std::string menu = "menu";
    co_await show_screen(ctx, menu, std::nullopt);
    co_return;
  }
  if (route == admin_routes().end() || args.size() != route->second + 1) {
    answer.payload["text"] = t(ctx, "error.menu_expired");
    co_await telegram::Outbox::enqueue(ctx.tx, answer);
    std::vector<std::string> home{"home"};
    co_await show_admin_screen(ctx, home, std::nullopt);
    co_return;
  }
  ops::Actor actor{ctx.user.id, "bot"};
  const std::string& verb = args[0];
  auto back_to = [&](std::vector<std::string> to) { return back_button(t(ctx, "admin.back"), std::move(to)); };
  std::vector<std::string> next = args;  // by default the route is a screen
  std::string notice;
  try {
    if (verb == "gd") {
      int days = static_cast<int>(to_int(args[2]).value_or(0));
      auto sub = co_await ops::Operations::grant_days(ctx.tx, actor, to_int(args[1]).value_or(0), days,
                                                      options_.default_device_limit);
      notice = t(ctx, "admin.user.days_granted", {{"expires", sub.expires_at}});
      next = {"u", args[1]};
    } else if (verb == "ban" || verb == "unban") {
      std::string reason = "from the admin panel";
      auto changed =
          co_await ops::Operations::set_banned(ctx.tx, actor, to_int(args[1]).value_or(0), verb == "ban", reason);
      notice =
          t(ctx, verb == "ban" ? "admin.user.banned" : "admin.user.unbanned", {{"count", std::to_string(changed)}});
      next = {"u", args[1]};
    } else if (verb == "bal") {
      json awaiting{{"await", "admin_balance"}, {"user", to_int(args[1]).value_or(0)}};
      co_await expect_reply(ctx, std::move(awaiting));
      json markup = keyboard({{back_to({"u", args[1]})}});
      co_await telegram::Outbox::enqueue(ctx.tx, answer);
      std::string prompt = t(ctx, "admin.user.balance_prompt");
      co_await present(ctx, std::move(prompt), std::move(markup), message_id);
      co_return;
    } else if (verb == "rfy") {
      auto order = co_await billing::Orders::get(ctx.tx, to_int(args[1]).value_or(0));
      if (!order) throw std::invalid_argument(t(ctx, "admin.refund.no_order"));
      std::string note = "refund from the admin panel";
      auto result = co_await ops::Operations::refund_order(ctx.tx, actor, order->id, note);
      notice = result.message;
      next = {"u", std::to_string(order->user_id)};
    } else if (verb == "pa") {
      std::string field = "active", value = args[2] == "1" ? "true" : "false";
      co_await ops::Operations::set_plan_field(ctx.tx, actor, args[1], field, value);
      next = {"plans"};
    } else if (verb == "ta") {
      auto id = to_int(args[1]);
      if (!id || (args[2] != "0" && args[2] != "1")) throw std::invalid_argument(t(ctx, "admin.traffic.bad_toggle"));
      if (!co_await ops::Operations::set_traffic_package_active(ctx.tx, actor, *id, args[2] == "1"))
        throw std::invalid_argument(t(ctx, "admin.traffic.none", {{"id", args[1]}}));
      next = {"trf"};
    } else if (verb == "po") {
      co_await ops::Operations::set_promo_active(ctx.tx, actor, args[1], args[2] == "1");
      next = {"promos"};
    } else if (verb == "mts") {
      if (args[1] != "0" && args[1] != "1") throw std::invalid_argument(t(ctx, "admin.maintenance.bad"));
      bool changed = co_await ops::Maintenance::set(ctx.tx, actor, args[1] == "1", std::nullopt);
      notice = t(ctx, !changed         ? "admin.maintenance.already"
                      : args[1] == "1" ? "admin.maintenance.now_on"
                                       : "admin.maintenance.now_off");
      next = {"mt"};
    } else if (verb == "ns") {
      co_await ops::Operations::set_node_state(ctx.tx, actor, args[1], args[2]);
      next = {"nodes"};
    } else if (verb == "bcn" && !kBroadcastAudiences.count(args[1])) {
      throw std::invalid_argument(t(ctx, "admin.broadcast.bad_audience"));
    } else if (verb == "bcgo" || verb == "bcp" || verb == "bcx") {
      int64_t id = to_int(args[1]).value_or(0);
      bool ok = false;
      if (verb == "bcgo")
        ok = co_await broadcast::Broadcasts::start(ctx.tx, id, ctx.chat_id);
      else if (verb == "bcp")
        ok = co_await broadcast::Broadcasts::pause(ctx.tx, id);
      else
        ok = co_await broadcast::Broadcasts::cancel(ctx.tx, id);
      if (ok) {
        std::string action = verb == "bcgo"  ? "broadcast_start"
                             : verb == "bcp" ? "broadcast_pause"
                                             : "broadcast_cancel";
        {
          std::string audit_action = action;
          json audit_details = json{{"broadcast_id", id}};
          co_await ops::Audit::record(ctx.tx, actor, audit_action, std::nullopt, audit_details);
        }
      }
      notice = t(ctx, ok ? "admin.done" : "admin.not_now");
      next = {"bcs", args[1]};
    }
  } catch (const std::invalid_argument& e) {
    notice = e.what();
    next = {"home"};
  }
  if (!notice.empty()) answer.payload["text"] = utf8_prefix(notice, 200);
  co_await telegram::Outbox::enqueue(ctx.tx, answer);
  co_await show_admin_screen(ctx, next, message_id);
}

awaitable<bool> Bot::on_admin_text(Context& ctx, const std::string& text) {
  std::string awaiting = ctx.user.conversation.value("await", "");
  if (awaiting.rfind("admin_", 0) != 0) co_return false;
  json conversation = ctx.user.conversation;
  json none;
  co_await Users::set_conversation(ctx.tx, ctx.user.id, none);
  ctx.user.conversation = nullptr;
  if (!is_admin(ctx)) {  // no longer an admin (the list changed since the prompt): the text is not acted on
    log::warn("admin", "admin prompt answered by a non-admin", {{"user_id", ctx.user.id}, {"await", awaiting}});
    std::string refused = t(ctx, "admin.refused");
    co_await reply(ctx, std::move(refused), main_menu_keyboard(ctx));
    co_return true;
  }
  ops::Actor actor{ctx.user.id, "bot"};
  std::string problem;
  try {
    if (awaiting == "admin_find") {
      auto id = co_await ops::find_user(ctx.tx, text);
      if (id) {
        std::vector<std::string> card{"u", std::to_string(*id)};
        co_await show_admin_screen(ctx, card, std::nullopt);
        co_return true;
      }
      problem = t(ctx, "admin.find.nobody", {{"query", html_escape(text)}});
    } else if (awaiting == "admin_balance") {
      int64_t user_id = conversation.value("user", int64_t{0});
      std::istringstream in(text);
      std::string amount_text, reason;
      in >> amount_text;
      std::getline(in >> std::ws, reason);
      bool negative = !amount_text.empty() && amount_text[0] == '-';
      int64_t amount = billing::parse_rub(negative ? amount_text.substr(1) : amount_text);
      if (negative) amount = -amount;
      if (reason.empty()) throw std::invalid_argument(t(ctx, "admin.user.reason_missing"));
      co_await ops::Operations::adjust_balance(ctx.tx, actor, user_id, amount, reason);
      std::vector<std::string> card{"u", std::to_string(user_id)};
      co_await show_admin_screen(ctx, card, std::nullopt);
      co_return true;
    } else if (awaiting == "admin_plan") {
      std::istringstream in(text);
      billing::NewPlan plan;
      std::string price_rub, title;
      if (!(in >> plan.code >> plan.days >> price_rub >> plan.price_stars >> plan.device_limit))
        throw std::invalid_argument(t(ctx, "admin.plans.expected"));
      std::getline(in >> std::ws, title);
      if (title.empty()) throw std::invalid_argument(t(ctx, "admin.plans.no_title"));
      plan.price_rub = billing::parse_rub(price_rub);
      plan.title = {{"en", title}, {"ru", title}};
      co_await ops::Operations::create_plan(ctx.tx, actor, plan);
      std::vector<std::string> plans{"plans"};
      co_await show_admin_screen(ctx, plans, std::nullopt);
      co_return true;
    } else if (awaiting == "admin_plan_set") {
      std::istringstream in(text);
      std::string code, field, value;
      in >> code >> field;
      std::getline(in >> std::ws, value);
      if (value.empty()) throw std::invalid_argument(t(ctx, "admin.plans.expected_change"));
      if (field == "price_rub") value = std::to_string(billing::parse_rub(value));
      bool changed = co_await ops::Operations::set_plan_field(ctx.tx, actor, code, field, value);
      if (!changed) throw std::invalid_argument(t(ctx, "admin.plans.no_plan", {{"code", code}}));
      std::vector<std::string> plans{"plans"};
      co_await show_admin_screen(ctx, plans, std::nullopt);
      co_return true;
    } else if (awaiting == "admin_promo") {
      std::istringstream in(text);
      billing::NewPromo promo;
      std::string value;
      if (!(in >> promo.code >> promo.kind >> value)) throw std::invalid_argument(t(ctx, "admin.promos.expected"));
      if (int max_uses = 0; in >> max_uses) promo.max_uses = max_uses;
      if (promo.kind == "fixed" || promo.kind == "balance")
        promo.value = billing::parse_rub(value);
      else if (promo.kind == "percent" || promo.kind == "days")
        promo.value = to_int(value).value_or(0);
      else if (promo.kind == "group") {
        auto group = co_await billing::PromoGroups::by_name(ctx.tx, value);
        if (!group) throw std::invalid_argument(t(ctx, "admin.promos.no_group", {{"name", value}}));
        promo.group_id = group->id;
      } else
        throw std::invalid_argument(t(ctx, "admin.promos.bad_kind"));  // plan codes: the CLI
      co_await ops::Operations::create_promo(ctx.tx, actor, promo);
      std::vector<std::string> promos{"promos"};
      co_await show_admin_screen(ctx, promos, std::nullopt);
      co_return true;
    } else if (awaiting == "admin_group" || awaiting == "admin_group_set") {
      std::istringstream in(text);
      std::string first, second, rest;
      in >> first >> second;
      std::getline(in >> std::ws, rest);
      if (second.empty() || !rest.empty())
        throw std::invalid_argument(
            t(ctx, awaiting == "admin_group" ? "admin.groups.expected" : "admin.groups.expected_assign"));
      if (awaiting == "admin_group") {
        auto percent = to_int(second);
        if (!percent) throw std::invalid_argument(t(ctx, "admin.groups.bad_percent"));
        co_await ops::Operations::create_group(ctx.tx, actor, first, static_cast<int>(*percent));
      } else {
        auto user_id = to_int(first);
        if (!user_id) throw std::invalid_argument(t(ctx, "admin.groups.bad_user"));
        std::optional<std::string> group;
        if (second != "-") group = second;
        co_await ops::Operations::assign_group(ctx.tx, actor, *user_id, group);
      }
      std::vector<std::string> groups{"grp"};
      co_await show_admin_screen(ctx, groups, std::nullopt);
      co_return true;
    } else if (awaiting == "admin_broadcast") {
      broadcast::BroadcastSpec spec;
      spec.text = text;
      spec.audience = conversation.value("audience", "all");
      spec.created_by = ctx.user.id;
      int64_t id = co_await broadcast::Broadcasts::create(ctx.tx, spec);
      co_await broadcast::Broadcasts::preview(ctx.tx, id, ctx.chat_id);
      {
        std::string audit_action = "broadcast_create";
        json audit_details = json{{"broadcast_id", id}, {"audience", spec.audience}};
        co_await ops::Audit::record(ctx.tx, actor, audit_action, std::nullopt, audit_details);
      }
      std::vector<std::string> status{"bcs", std::to_string(id)};
      co_await show_admin_screen(ctx, status, std::nullopt);
      co_return true;
    }
  } catch (const std::invalid_argument& e) {
    problem = html_escape(e.what());
  }
  if (problem.empty()) problem = t(ctx, "admin.not_understood");
  json markup = keyboard({{back_button(t(ctx, "admin.back"), {"home"})}});
  co_await reply(ctx, "⚠️ " + problem, std::move(markup));
  co_return true;
}

}  // namespace vpnbot::bot
