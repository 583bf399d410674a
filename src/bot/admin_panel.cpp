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

json back_to(std::vector<std::string> screen) {
  return admin_button("« Back", std::move(screen));
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
  ops::Actor actor{ctx.user.id, "bot"};
  std::string text;
  std::vector<std::vector<json>> rows;
  if (name == "st") {
    auto stats = co_await ops::collect_stats(ctx.tx);
    text = "📊 <b>Statistics</b>\n\n" + stats.render(true);
    rows = {{admin_button("🔄 Refresh", {"st"})}, {back_to({"home"})}};
  } else if (name == "find") {
    json awaiting{{"await", "admin_find"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = "🔎 Send a user id or @username.";
    rows = {{back_to({"home"})}};
  } else if (name == "u" && screen.size() > 1) {
    auto id = to_int(screen[1]).value_or(0);
    auto card = co_await ops::load_user_card(ctx.tx, id,
                                             options_.billing.referral_percents.size() > 0
                                                 ? static_cast<int>(options_.billing.referral_percents.size())
                                                 : 1);
    if (!card) {
      text = "No user " + html_escape(screen[1]) + ".";
      rows = {{admin_button("🔎 Find user", {"find"})}, {back_to({"home"})}};
    } else {
      std::string uid = std::to_string(card->id);
      text = "👤 " + card->render(true);
      rows = {{admin_button("+7 days", {"gd", uid, "7"}), admin_button("+30 days", {"gd", uid, "30"})},
              {card->banned ? admin_button("✅ Unban", {"unban", uid}) : admin_button("⛔ Ban", {"ban", uid}),
               admin_button("💰 Adjust balance", {"bal", uid})}};
      for (const auto& o : card->orders)
        if (o.state == "paid" && (o.provider == "stars" || o.provider == "balance"))
          rows.push_back(
              {admin_button(fmt::format("↩️ Refund #{} ({})", o.id, o.provider), {"rf", std::to_string(o.id)})});
      rows.push_back({back_to({"home"})});
    }
  } else if (name == "rf" && screen.size() > 1) {
    auto order = co_await billing::Orders::get(ctx.tx, to_int(screen[1]).value_or(0));
    if (!order) {
      text = "No such order.";
      rows = {{back_to({"home"})}};
    } else {
      text = fmt::format(
          "Refund order #{} of user {}: {} {} by {} ({})? The days, referral rewards and cashback it "
          "gave are taken back.",
          order->id, order->user_id, order->amount, order->currency, order->provider, order->state);
      rows = {{admin_button("Yes, refund", {"rfy", std::to_string(order->id)})},
              {back_to({"u", std::to_string(order->user_id)})}};
    }
  } else if (name == "plans") {
    auto plans = co_await billing::Plans::all(ctx.tx);
    text = "💳 <b>Plans</b>\n";
    for (const auto& p : plans) {
      text += fmt::format("\n<code>{}</code> {}: {} days, {}, {} ⭐, {} device(s), {}{}{}", html_escape(p.code),
                          html_escape(p.title_for("en")), p.days, billing::format_rub(p.price_rub), p.price_stars,
                          p.device_limit, p.traffic_gb ? std::to_string(*p.traffic_gb) + " GB" : "unlimited",
                          p.hidden ? ", hidden" : "", p.active ? "" : ", OFF");
      rows.push_back(
          {admin_button((p.active ? "Turn off " : "Turn on ") + p.code, {"pa", p.code, p.active ? "0" : "1"})});
    }
    rows.push_back({admin_button("➕ Add plan", {"padd"}), admin_button("✏️ Change a plan", {"pedit"})});
    rows.push_back({back_to({"home"})});
  } else if (name == "padd") {
    json awaiting{{"await", "admin_plan"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text =
        "Send the new plan as:\n<code>CODE DAYS PRICE_RUB PRICE_STARS DEVICES Title</code>\n"
        "e.g. <code>m3 90 499 250 3 3 months</code>";
    rows = {{back_to({"plans"})}};
  } else if (name == "pedit") {
    json awaiting{{"await", "admin_plan_set"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text =
        "Send <code>CODE FIELD VALUE</code>. FIELD: price_rub, price_stars, days, device_limit, hidden, active, "
        "sort, title_en, title_ru. e.g. <code>month price_rub 249</code>";
    rows = {{back_to({"plans"})}};
  } else if (name == "promos") {
    auto promos = co_await billing::Promos::list(ctx.tx, 0, 30);
    text = "🎟 <b>Promo codes</b>\n";
    for (const auto& p : promos) {
      std::string value =
          (p.kind == "fixed" || p.kind == "balance") ? billing::format_rub(p.value) : std::to_string(p.value);
      text += fmt::format("\n<code>{}</code> {} {}: used {}{}{}", html_escape(p.code), p.kind, value, p.uses,
                          p.max_uses ? " of " + std::to_string(*p.max_uses) : "", p.active ? "" : ", OFF");
      rows.push_back(
          {admin_button((p.active ? "Turn off " : "Turn on ") + p.code, {"po", p.code, p.active ? "0" : "1"})});
    }
    rows.push_back({admin_button("➕ Add promo code", {"poadd"})});
    rows.push_back({back_to({"home"})});
  } else if (name == "poadd") {
    json awaiting{{"await", "admin_promo"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text =
        "Send the new promo code as:\n<code>CODE KIND VALUE [MAX_USES]</code>\nKIND: percent, fixed (roubles), "
        "days, balance (roubles), group (VALUE: the promo group's name). e.g. <code>SPRING percent 15 500</code>";
    rows = {{back_to({"promos"})}};
  } else if (name == "grp") {
    auto groups = co_await billing::PromoGroups::list(ctx.tx);
    text = "👥 <b>Promo groups</b> (a personal discount on every plan; a promo code of kind group puts users in)\n";
    for (const auto& g : groups)
      text += fmt::format("\n<code>{}</code>: {}% off, {} member(s)", html_escape(g.name), g.plan_percent, g.members);
    if (groups.empty()) text += "\nnone yet";
    rows = {{admin_button("➕ New group", {"grpadd"}), admin_button("👤 Put a user in a group", {"grpset"})},
            {back_to({"home"})}};
  } else if (name == "grpadd") {
    json awaiting{{"await", "admin_group"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = "Send the new group as:\n<code>NAME PERCENT</code>\ne.g. <code>friends 15</code>";
    rows = {{back_to({"grp"})}};
  } else if (name == "grpset") {
    json awaiting{{"await", "admin_group_set"}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = "Send <code>USER_ID GROUP</code>, or <code>USER_ID -</code> to take the user out of any group.";
    rows = {{back_to({"grp"})}};
  } else if (name == "trf") {
    auto packages = co_await billing::TrafficPackages::list(ctx.tx, false);
    text =
        "📶 <b>Traffic packages</b> (added to a buyer's current period; <code>vpnbot admin traffic add</code> makes "
        "new ones)\n";
    for (const auto& p : packages) {
      text += fmt::format("\n#{}: {} GB, {}, {} ⭐{}", p.id, p.gb, billing::format_rub(p.price_rub), p.price_stars,
                          p.active ? "" : ", OFF");
      std::string id = std::to_string(p.id);
      rows.push_back({admin_button(fmt::format("{} #{} ({} GB)", p.active ? "Turn off" : "Turn on", p.id, p.gb),
                                   {"ta", id, p.active ? "0" : "1"})});
    }
    if (packages.empty()) text += "\nnone yet";
    rows.push_back({back_to({"home"})});
  } else if (name == "gifts") {
    auto gifts = co_await billing::Gifts::list(ctx.tx, std::nullopt, std::nullopt, INT64_MAX, 20);
    text = "🎁 <b>Gifts</b> (newest first)\n";
    for (const auto& g : gifts)
      text += fmt::format("\n#{} <code>{}</code> from {} (order #{}, {} days): {}{}", g.id, g.code, g.buyer_id,
                          g.order_id, g.days, g.state, g.redeemed_by ? " by " + std::to_string(*g.redeemed_by) : "");
    if (gifts.empty()) text += "\nnone yet";
    rows = {{back_to({"home"})}};
  } else if (name == "tickets") {
    auto open = co_await support::Tickets::list(ctx.tx, "open", 30);
    text = "🆘 <b>Open support tickets</b> (answer in the support group's topics; /close there closes one)\n";
    for (const auto& t : open)
      text += fmt::format("\n#{} user {}: {} message(s), {}", t.id, t.user_id, t.messages,
                          t.waiting_minutes ? "waiting " + std::to_string(*t.waiting_minutes) + " min" : "answered");
    if (open.empty()) text += "\nnone";
    if (options_.support_chat_id == 0) text += "\n\nSupport is off: set support_chat_id to a forum group.";
    rows = {{admin_button("🔄 Refresh", {"tickets"})}, {back_to({"home"})}};
  } else if (name == "nodes") {
    auto stats = co_await ops::collect_stats(ctx.tx);
    text = "🖥 <b>Nodes</b>\n";
    for (const auto& n : stats.nodes) {
      text += fmt::format("\n<b>{}</b> ({}): {} active configs, pool {} of {} used", html_escape(n.name), n.state,
                          n.active_peers, n.pool_size - n.pool_free, n.pool_size);
      std::vector<json> row;
      for (const char* state : {"enabled", "draining", "disabled"})
        if (n.state != state) row.push_back(admin_button(std::string(state) + " " + n.name, {"ns", n.name, state}));
      rows.push_back(std::move(row));
    }
    if (stats.nodes.empty()) text += "\nnone (add one with: vpnbot admin node add ...)";
    rows.push_back({back_to({"home"})});
  } else if (name == "bc") {
    text = "📣 <b>Broadcast</b>\nWho should receive it?";
    for (const auto& audience : kBroadcastAudiences) rows.push_back({admin_button(audience, {"bcn", audience})});
    auto recent = co_await broadcast::Broadcasts::list(ctx.tx, 5);
    for (const auto& p : recent)
      rows.push_back(
          {admin_button(fmt::format("#{} {} ({})", p.id, p.audience, p.state), {"bcs", std::to_string(p.id)})});
    rows.push_back({back_to({"home"})});
  } else if (name == "bcn" && screen.size() > 1) {
    json awaiting{{"await", "admin_broadcast"}, {"audience", screen[1]}};
    co_await expect_reply(ctx, std::move(awaiting));
    text = "Send the message for <b>" + html_escape(screen[1]) +
           "</b> (HTML formatting). You will get a preview before anything is sent.";
    rows = {{back_to({"bc"})}};
  } else if (name == "bcs" && screen.size() > 1) {
    auto id = to_int(screen[1]).value_or(0);
    auto progress = co_await broadcast::Broadcasts::progress(ctx.tx, id);
    if (!progress) {
      text = "No such broadcast.";
    } else {
      std::string sid = std::to_string(id);
      text = fmt::format("📣 Broadcast #{}\n{}", id, html_escape(progress->summary()));
      std::vector<json> row;
      if (progress->state == "draft" || progress->state == "paused")
        row.push_back(admin_button(progress->state == "draft" ? "▶️ Start" : "▶️ Resume", {"bcgo", sid}));
      if (progress->state == "running") row.push_back(admin_button("⏸ Pause", {"bcp", sid}));
      if (progress->state != "cancelled" && progress->state != "done")
        row.push_back(admin_button("✖️ Cancel", {"bcx", sid}));
      if (!row.empty()) rows.push_back(std::move(row));
      rows.push_back({admin_button("🔄 Refresh", {"bcs", sid})});
    }
    rows.push_back({back_to({"bc"})});
  } else if (name == "mt") {
    auto maintenance = co_await ops::Maintenance::current(ctx.tx);
    text = fmt::format("🚧 <b>Maintenance</b>: {} (since {} UTC)\n\n", maintenance.on ? "ON" : "off",
                       maintenance.changed_at);
    text += maintenance.on ? "Users get the maintenance notice; admins, webhooks and payments work as always."
                           : "Turning it on answers users with a maintenance notice while admins keep working; "
                             "payments are still accepted and processed.";
    if (maintenance.message) text += "\nMessage: " + html_escape(*maintenance.message);
    text += "\n(A message for users: <code>vpnbot admin maintenance on --message ...</code>)";
    rows = {{admin_button(maintenance.on ? "✅ Turn off" : "🚧 Turn on", {"mts", maintenance.on ? "0" : "1"})},
            {back_to({"home"})}};
  } else if (name == "audit") {
    auto entries = co_await ops::Audit::recent(ctx.tx, 15);
    text = "📜 <b>Audit log</b> (newest first)\n";
    for (const auto& e : entries)
      text +=
          fmt::format("\n{} {} by {} ({}){} {}", e.created_at, e.action, e.actor_id, e.via,
                      e.target_user_id ? " → " + std::to_string(*e.target_user_id) : "", html_escape(e.details.dump()));
    if (entries.empty()) text += "\nempty";
    rows = {{back_to({"home"})}};
  } else {
    auto maintenance = co_await ops::Maintenance::current(ctx.tx);
    text = "🛠 <b>Admin panel</b>";
    if (maintenance.on) text += "\n🚧 Maintenance is ON: users get the maintenance notice.";
    rows = {{admin_button("📊 Statistics", {"st"}), admin_button("🔎 Find user", {"find"})},
            {admin_button("💳 Plans", {"plans"}), admin_button("🎟 Promo codes", {"promos"})},
            {admin_button("🖥 Nodes", {"nodes"}), admin_button("📣 Broadcast", {"bc"})},
            {admin_button("👥 Promo groups", {"grp"}), admin_button("🎁 Gifts", {"gifts"})},
            {admin_button("🆘 Tickets", {"tickets"}), admin_button("📶 Traffic packages", {"trf"})},
            {admin_button("📜 Audit log", {"audit"}),
             admin_button(maintenance.on ? "🚧 Maintenance: ON" : "🚧 Maintenance", {"mt"})},
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
  std::vector<std::string> next = args;  // by default the route is a screen
  std::string notice;
  try {
    if (verb == "gd") {
      int days = static_cast<int>(to_int(args[2]).value_or(0));
      auto sub = co_await ops::Operations::grant_days(ctx.tx, actor, to_int(args[1]).value_or(0), days,
                                                      options_.default_device_limit);
      notice = "Subscription now until " + sub.expires_at + " UTC";
      next = {"u", args[1]};
    } else if (verb == "ban" || verb == "unban") {
      std::string reason = "from the admin panel";
      auto changed =
          co_await ops::Operations::set_banned(ctx.tx, actor, to_int(args[1]).value_or(0), verb == "ban", reason);
      notice = fmt::format("{}; {} config(s) switched {}", verb == "ban" ? "Banned" : "Unbanned", changed,
                           verb == "ban" ? "off" : "on");
      next = {"u", args[1]};
    } else if (verb == "bal") {
      json awaiting{{"await", "admin_balance"}, {"user", to_int(args[1]).value_or(0)}};
      co_await expect_reply(ctx, std::move(awaiting));
      json markup = keyboard({{back_to({"u", args[1]})}});
      co_await telegram::Outbox::enqueue(ctx.tx, answer);
      std::string prompt =
          "Send the amount in roubles and the reason, e.g. <code>150 compensation for downtime</code> (a minus takes "
          "money away).";
      co_await present(ctx, std::move(prompt), std::move(markup), message_id);
      co_return;
    } else if (verb == "rfy") {
      auto order = co_await billing::Orders::get(ctx.tx, to_int(args[1]).value_or(0));
      if (!order) throw std::invalid_argument("no such order");
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
      if (!id || (args[2] != "0" && args[2] != "1")) throw std::invalid_argument("a package id and 0 or 1");
      if (!co_await ops::Operations::set_traffic_package_active(ctx.tx, actor, *id, args[2] == "1"))
        throw std::invalid_argument("no traffic package " + args[1]);
      next = {"trf"};
    } else if (verb == "po") {
      co_await ops::Operations::set_promo_active(ctx.tx, actor, args[1], args[2] == "1");
      next = {"promos"};
    } else if (verb == "mts") {
      if (args[1] != "0" && args[1] != "1") throw std::invalid_argument("maintenance is 0 or 1");
      bool changed = co_await ops::Maintenance::set(ctx.tx, actor, args[1] == "1", std::nullopt);
      notice = !changed ? "Already so" : args[1] == "1" ? "Maintenance is on" : "Maintenance is off";
      next = {"mt"};
    } else if (verb == "ns") {
      co_await ops::Operations::set_node_state(ctx.tx, actor, args[1], args[2]);
      next = {"nodes"};
    } else if (verb == "bcn" && !kBroadcastAudiences.count(args[1])) {
      throw std::invalid_argument("unknown audience");
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
      notice = ok ? "Done" : "Not possible in its current state";
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
      problem = "Nobody found for " + html_escape(text) + ".";
    } else if (awaiting == "admin_balance") {
      int64_t user_id = conversation.value("user", int64_t{0});
      std::istringstream in(text);
      std::string amount_text, reason;
      in >> amount_text;
      std::getline(in >> std::ws, reason);
      bool negative = !amount_text.empty() && amount_text[0] == '-';
      int64_t amount = billing::parse_rub(negative ? amount_text.substr(1) : amount_text);
      if (negative) amount = -amount;
      if (reason.empty()) throw std::invalid_argument("add a reason after the amount");
      co_await ops::Operations::adjust_balance(ctx.tx, actor, user_id, amount, reason);
      std::vector<std::string> card{"u", std::to_string(user_id)};
      co_await show_admin_screen(ctx, card, std::nullopt);
      co_return true;
    } else if (awaiting == "admin_plan") {
      std::istringstream in(text);
      billing::NewPlan plan;
      std::string price_rub, title;
      if (!(in >> plan.code >> plan.days >> price_rub >> plan.price_stars >> plan.device_limit))
        throw std::invalid_argument("expected CODE DAYS PRICE_RUB PRICE_STARS DEVICES Title");
      std::getline(in >> std::ws, title);
      if (title.empty()) throw std::invalid_argument("the title is missing");
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
      if (value.empty()) throw std::invalid_argument("expected CODE FIELD VALUE");
      if (field == "price_rub") value = std::to_string(billing::parse_rub(value));
      bool changed = co_await ops::Operations::set_plan_field(ctx.tx, actor, code, field, value);
      if (!changed) throw std::invalid_argument("no plan with code " + code);
      std::vector<std::string> plans{"plans"};
      co_await show_admin_screen(ctx, plans, std::nullopt);
      co_return true;
    } else if (awaiting == "admin_promo") {
      std::istringstream in(text);
      billing::NewPromo promo;
      std::string value;
      if (!(in >> promo.code >> promo.kind >> value))
        throw std::invalid_argument("expected CODE KIND VALUE [MAX_USES]");
      if (int max_uses = 0; in >> max_uses) promo.max_uses = max_uses;
      if (promo.kind == "fixed" || promo.kind == "balance")
        promo.value = billing::parse_rub(value);
      else if (promo.kind == "percent" || promo.kind == "days")
        promo.value = to_int(value).value_or(0);
      else if (promo.kind == "group") {
        auto group = co_await billing::PromoGroups::by_name(ctx.tx, value);
        if (!group) throw std::invalid_argument("no promo group " + value);
        promo.group_id = group->id;
      } else
        throw std::invalid_argument("KIND must be percent, fixed, days, balance or group");  // plan codes: the CLI
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
        throw std::invalid_argument(awaiting == "admin_group" ? "expected NAME PERCENT" : "expected USER_ID GROUP");
      if (awaiting == "admin_group") {
        auto percent = to_int(second);
        if (!percent) throw std::invalid_argument("PERCENT is a whole number, 1-90");
        co_await ops::Operations::create_group(ctx.tx, actor, first, static_cast<int>(*percent));
      } else {
        auto user_id = to_int(first);
        if (!user_id) throw std::invalid_argument("USER_ID is a Telegram id");
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
  if (problem.empty()) problem = "Not understood.";
  json markup = keyboard({{back_to({"home"})}});
  co_await reply(ctx, "⚠️ " + problem, std::move(markup));
  co_return true;
}

}  // namespace vpnbot::bot
