// Broadcasts: pick an audience, type the text (a preview comes back), then start, pause, resume or cancel it.
#include <set>

#include "bot/admin/page.hpp"
#include "broadcast/broadcasts.hpp"

namespace vpnbot::bot::admin {

namespace {
const std::set<std::string, std::less<>> kAudiences{"all", "active", "expired", "never_paid", "trial"};

awaitable<void> audit(Context& ctx, std::string action, json details) {
  ops::Actor actor = actor_of(ctx);
  co_await ops::Audit::record(ctx.tx, actor, action, std::nullopt, details);
}
}  // namespace

awaitable<Page> broadcasts(Context& ctx, const Args&) {
  Page page{t(ctx, "admin.broadcast.title"), {}};
  for (const auto& audience : kAudiences) page.rows.push_back({route_button(audience, {"bcn", audience})});
  auto recent = co_await broadcast::Broadcasts::list(ctx.tx, 5);
  for (const auto& p : recent)
    page.rows.push_back({route_button(
        t(ctx, "admin.broadcast.item", {{"id", std::to_string(p.id)}, {"audience", p.audience}, {"state", p.state}}),
        {"bcs", std::to_string(p.id)})});
  page.rows.push_back({back_to(ctx, {"home"})});
  co_return page;
}

awaitable<Outcome> check_audience(Context& ctx, const Args& args) {
  if (!kAudiences.count(args[1])) throw std::invalid_argument(t(ctx, "admin.broadcast.bad_audience"));
  co_return Outcome{};
}

awaitable<Page> broadcast_text(Context& ctx, const Args& args) {
  json awaiting{{"await", "admin_broadcast"}, {"audience", args[1]}};
  co_await expect_reply(ctx, std::move(awaiting));
  co_return question(ctx, t(ctx, "admin.broadcast.prompt", {{"audience", html_escape(args[1])}}), {"bc"});
}

awaitable<Page> broadcast_status(Context& ctx, const Args& args) {
  auto id = to_int(args[1]).value_or(0);
  auto progress = co_await broadcast::Broadcasts::progress(ctx.tx, id);
  Page page;
  if (!progress) {
    page.text = t(ctx, "admin.broadcast.none");
  } else {
    std::string sid = std::to_string(id);
    page.text = t(ctx, "admin.broadcast.status", {{"id", sid}, {"summary", html_escape(progress->summary())}});
    std::vector<json> row;
    if (progress->state == "draft" || progress->state == "paused")
      row.push_back(route_button(
          t(ctx, progress->state == "draft" ? "admin.broadcast.start" : "admin.broadcast.resume"), {"bcgo", sid}));
    if (progress->state == "running") row.push_back(route_button(t(ctx, "admin.broadcast.pause"), {"bcp", sid}));
    if (progress->state != "cancelled" && progress->state != "done")
      row.push_back(route_button(t(ctx, "admin.broadcast.cancel"), {"bcx", sid}));
    if (!row.empty()) page.rows.push_back(std::move(row));
    page.rows.push_back({route_button(t(ctx, "admin.refresh"), {"bcs", sid})});
  }
  page.rows.push_back({back_to(ctx, {"bc"})});
  co_return page;
}

// bcgo (start or resume), bcp (pause), bcx (cancel).
awaitable<Outcome> steer_broadcast(Context& ctx, const Args& args) {
  const std::string& verb = args[0];
  int64_t id = to_int(args[1]).value_or(0);
  bool ok = false;
  if (verb == "bcgo")
    ok = co_await broadcast::Broadcasts::start(ctx.tx, id, ctx.chat_id);
  else if (verb == "bcp")
    ok = co_await broadcast::Broadcasts::pause(ctx.tx, id);
  else
    ok = co_await broadcast::Broadcasts::cancel(ctx.tx, id);
  if (ok) {
    std::string action = verb == "bcgo" ? "broadcast_start" : verb == "bcp" ? "broadcast_pause" : "broadcast_cancel";
    json details{{"broadcast_id", id}};
    co_await audit(ctx, std::move(action), std::move(details));
  }
  co_return Outcome{t(ctx, ok ? "admin.done" : "admin.not_now"), {"bcs", args[1]}};
}

// The broadcast's text: a draft for the audience chosen, previewed to the admin.
awaitable<Answer> answer_broadcast_text(Context& ctx, const json& conversation, const std::string& text) {
  broadcast::BroadcastSpec spec;
  spec.text = text;
  spec.audience = conversation.value("audience", "all");
  spec.created_by = ctx.user.id;
  int64_t id = co_await broadcast::Broadcasts::create(ctx.tx, spec);
  co_await broadcast::Broadcasts::preview(ctx.tx, id, ctx.chat_id);
  std::string action = "broadcast_create";
  json details{{"broadcast_id", id}, {"audience", spec.audience}};
  co_await audit(ctx, std::move(action), std::move(details));
  co_return Answer{{"bcs", std::to_string(id)}, ""};
}

}  // namespace vpnbot::bot::admin
