// The gates in front of every update, in order: a ban, the user's update budget, maintenance, the terms of service,
// and the required channels (in front of purchases). Each either lets the update through or answers it and stops
// it; payments pass every gate (money that arrived is always recorded), and admins pass all but the ban. The slow
// check (getChatMember) runs before the update's transaction (check_channels_before); the gate reads its answer.

#include "billing/gifts.hpp"
#include "bot/bot.hpp"
#include "bot/callback.hpp"
#include "bot/context.hpp"
#include "bot/routes.hpp"
#include "core/log.hpp"
#include "ops/maintenance.hpp"

namespace vpnbot::bot {

using telegram::json;
using telegram::OutMessage;

const std::vector<Bot::Gate>& Bot::gates() {
  static const std::vector<Gate> ordered{{"ban", &Bot::stopped_by_ban},
                                         {"budget", &Bot::stopped_by_budget},
                                         {"maintenance", &Bot::stopped_by_maintenance},
                                         {"terms", &Bot::stopped_by_terms},
                                         {"channels", &Bot::stopped_by_channels}};
  return ordered;
}

awaitable<bool> Bot::stopped_by_ban(Context& ctx, const Arrival& arrival) {
  if (!ctx.user.banned || arrival.paid) co_return false;
  std::string notice = t(ctx, "banned.notice");
  co_await answer_with_notice(ctx, arrival.kind, arrival.body, std::move(notice));
  co_return true;
}

awaitable<bool> Bot::stopped_by_budget(Context& ctx, const Arrival& arrival) {
  // One user's flood costs one statement per update and one notice per window: nobody else waits behind it.
  if (arrival.payment || is_admin(ctx)) co_return false;
  auto notice = co_await spend_budget(ctx, budgets::Kind::updates, true);
  if (!notice) co_return false;
  if (!notice->empty()) co_await answer_with_notice(ctx, arrival.kind, arrival.body, std::move(*notice));
  co_return true;
}

awaitable<bool> Bot::stopped_by_maintenance(Context& ctx, const Arrival& arrival) {
  // Users get a notice, admins keep working, and payments keep flowing (a pre-checkout is still accepted and a
  // successful payment still granted: the user has paid or is paying).
  if (arrival.payment || is_admin(ctx)) co_return false;
  auto maintenance = co_await ops::Maintenance::current(ctx.tx);
  if (!maintenance.on) co_return false;
  co_await keep_start_of(ctx, arrival.kind, arrival.body);
  std::string notice = t(ctx, "maintenance.notice");
  if (maintenance.message && !maintenance.message->empty()) notice += "\n\n" + html_escape(*maintenance.message);
  co_await answer_with_notice(ctx, arrival.kind, arrival.body, std::move(notice));
  co_return true;
}

awaitable<bool> Bot::stopped_by_terms(Context& ctx, const Arrival& arrival) {
  // Nothing but the terms' Accept button (and payments already under way) until the current version is accepted.
  // Admins are not asked: they run the bot.
  if (arrival.payment || is_admin(ctx) || ctx.user.rules_accepted_version >= options_.rules_version) co_return false;
  if (arrival.kind == "callback_query") {
    OutMessage answer;  // stops the button's spinner; what follows is a message
    answer.chat_id = ctx.chat_id;
    answer.method = "answerCallbackQuery";
    answer.payload = {{"callback_query_id", arrival.body.value("id", "")}};
    co_await telegram::Outbox::enqueue(ctx.tx, answer);
  }
  const auto& pressed = arrival.pressed;
  bool accepts = pressed && pressed->status == CallbackStatus::ok && pressed->callback.action == "rules" &&
                 pressed->callback.args.size() == 1 &&
                 pressed->callback.args[0] == std::to_string(options_.rules_version);
  if (!accepts) {
    co_await keep_start_of(ctx, arrival.kind, arrival.body);
    co_await show_rules(ctx);
    co_return true;
  }
  co_await Users::accept_rules(ctx.tx, ctx.user.id, options_.rules_version);
  ctx.user.rules_accepted_version = options_.rules_version;
  // What the user came for: the welcome at a first start, else the menu.
  co_await on_command(ctx, "start", "");
  co_return true;
}

awaitable<bool> Bot::stopped_by_channels(Context& ctx, const Arrival& arrival) {
  const auto& pressed = arrival.pressed;
  if (!pressed || pressed->status != CallbackStatus::ok || !route::leads_to_purchase(pressed->callback))
    co_return false;
  if (co_await channels_allow(ctx)) co_return false;
  bool fresh = pressed->callback.action == "chk";
  OutMessage answer;
  answer.chat_id = ctx.chat_id;
  answer.method = "answerCallbackQuery";
  answer.payload = {{"callback_query_id", arrival.body.value("id", "")},
                    {"text", t(ctx, fresh ? "channels.not_yet" : "channels.required")},
                    {"show_alert", fresh}};
  co_await telegram::Outbox::enqueue(ctx.tx, answer);
  std::optional<int64_t> message_id;
  const json& body = arrival.body;
  if (body.contains("message") && body["message"].contains("message_id") &&
      body["message"]["message_id"].is_number_integer())
    message_id = body["message"]["message_id"].get<int64_t>();
  co_await show_channel_gate(ctx, message_id);
  co_return true;
}

awaitable<void> Bot::check_channels_before(db::Pool& pool, const telegram::InboxUpdate& update) {
  if (options_.required_channels.empty() || !options_.channel_member || update.kind != "callback_query") co_return;
  const json& query = update.payload["callback_query"];
  if (!query.contains("from") || !query["from"].contains("id") || !query["from"]["id"].is_number_integer() ||
      !query.contains("data") || !query["data"].is_string())
    co_return;
  int64_t user_id = query["from"]["id"].get<int64_t>();
  auto decoded = decode_callback(query["data"].get<std::string>());
  if (decoded.status != CallbackStatus::ok || !route::leads_to_purchase(decoded.callback) ||
      options_.admin_ids.count(user_id))
    co_return;
  bool fresh = decoded.callback.action == "chk";
  if (!options_.recheck_channels) {
    auto passed = co_await pool.exec("SELECT channels_passed_at IS NOT NULL FROM users WHERE id = $1", user_id);
    if (!passed.empty() && passed.get<bool>(0, 0)) co_return;
  }
  for (const auto& channel : options_.required_channels) {
    if (!fresh) {
      auto recent = co_await pool.exec(
          "SELECT 1 FROM channel_checks WHERE user_id = $1 AND channel = $2 AND "
          "checked_at > now() - make_interval(secs => $3::double precision / 1000)",
          user_id, channel, static_cast<int64_t>(options_.channel_cache.count()));
      if (!recent.empty()) continue;
    }
    std::optional<bool> member = co_await options_.channel_member(channel, user_id);
    // Stored for users the bot knows; a stranger's first press finds no answer and sees the gate, whose "I've
    // subscribed" asks again once handle() has registered them.
    co_await pool.exec(
        "INSERT INTO channel_checks (user_id, channel, member) SELECT $1, $2, $3 WHERE EXISTS "
        "(SELECT 1 FROM users WHERE id = $1) "
        "ON CONFLICT (user_id, channel) DO UPDATE SET member = EXCLUDED.member, checked_at = now()",
        user_id, channel, member);
  }
}

awaitable<bool> Bot::channels_allow(Context& ctx) {
  if (options_.required_channels.empty() || is_admin(ctx)) co_return true;
  if (!options_.recheck_channels) {
    auto passed = co_await ctx.tx.exec("SELECT channels_passed_at IS NOT NULL FROM users WHERE id = $1", ctx.user.id);
    if (!passed.empty() && passed.get<bool>(0, 0)) co_return true;
  }
  // The answers check_channels_before stored just now (or, for a cached one, within channel_cache). A channel
  // Telegram could not tell about (member NULL) is not held against the user; one never asked about is.
  auto refused = co_await ctx.tx.exec(
      "SELECT count(*) FROM unnest($2::text[]) AS required (channel) LEFT JOIN channel_checks c "
      "ON c.user_id = $1 AND c.channel = required.channel WHERE c.channel IS NULL OR c.member = false",
      ctx.user.id, db::to_text_array(options_.required_channels));
  bool all = refused.get<int64_t>(0, 0) == 0;
  if (all)
    co_await ctx.tx.exec("UPDATE users SET channels_passed_at = coalesce(channels_passed_at, now()) WHERE id = $1",
                         ctx.user.id);
  co_return all;
}

awaitable<void> Bot::show_channel_gate(Context& ctx, std::optional<int64_t> edit_message_id) {
  std::vector<std::vector<json>> rows;
  for (const auto& channel : options_.required_channels)
    rows.push_back({json{{"text", t(ctx, "channels.subscribe", {{"channel", channel}})},
                         {"url", "https://t.me/" + channel.substr(1)}}});
  rows.push_back({button(t(ctx, "channels.check"), route::channels_joined())});
  rows.push_back({button(t(ctx, "common.back"), route::screen("menu"))});
  co_await present(ctx, t(ctx, "channels.ask"), keyboard(std::move(rows)), edit_message_id);
}

awaitable<void> Bot::show_rules(Context& ctx) {
  auto text_of = options_.rules_text.find(ctx.user.language);
  const std::string& rules =
      text_of != options_.rules_text.end() && !text_of->second.empty() ? text_of->second : options_.rules_text.at("en");
  std::string text = t(ctx, ctx.user.rules_accepted_version > 0 ? "rules.changed" : "rules.title") + "\n\n" +
                     html_escape(rules) + "\n\n" + t(ctx, "rules.ask");
  json markup = keyboard({{button(t(ctx, "rules.accept"), route::accept_terms(options_.rules_version))}});
  co_await reply(ctx, std::move(text), std::move(markup));
}

awaitable<void> Bot::keep_start_of(Context& ctx, const std::string& kind, const json& body) {
  if (kind != "message" || !body.contains("text") || !body["text"].is_string()) co_return;
  auto [command, argument] = split_command(body["text"].get<std::string>());
  if (command != "start") co_return;
  // A referral link opened at a gate (maintenance, terms of service) still counts; the user is not marked started,
  // so the first /start past the gate still welcomes them and tells the inviter.
  std::string code = argument.rfind("ref_", 0) == 0 ? argument.substr(4, 32) : "";
  co_await Users::record_referral(ctx.tx, ctx.user.id, code);
  // A gift link opened at a gate is redeemed at the first /start past it.
  if (argument.rfind("gift_", 0) == 0) {
    if (auto gift = billing::Gifts::normalize(argument.substr(5, 32))) {
      json pending{{"pending_gift", *gift}};
      co_await expect_reply(ctx, std::move(pending));
    }
  }
}

}  // namespace vpnbot::bot
