#include "bot/bot.hpp"

#include <set>

#include "billing/gifts.hpp"
#include "bot/actions/action.hpp"
#include "bot/callback.hpp"
#include "bot/context.hpp"
#include "bot/routes.hpp"
#include "bot/screens/screen.hpp"
#include "bot/update_shape.hpp"
#include "core/log.hpp"
#include "shop/configs.hpp"
#include "vpn/client_config.hpp"
#include "vpn/store.hpp"

namespace vpnbot::bot {

using telegram::json;
using telegram::OutMessage;

namespace {

const std::string kMenu = "menu", kHelp = "help", kLanguage = "lang";

}  // namespace

std::pair<std::string, std::string> split_command(const std::string& text) {
  auto space = text.find_first_of(" \n");
  std::string command = text.substr(1, space == std::string::npos ? std::string::npos : space - 1);
  if (auto at = command.find('@'); at != std::string::npos) command.resize(at);
  std::string argument;
  if (space != std::string::npos) {
    argument = text.substr(space + 1);
    while (!argument.empty() && std::isspace(static_cast<unsigned char>(argument.front()))) argument.erase(0, 1);
    while (!argument.empty() && std::isspace(static_cast<unsigned char>(argument.back()))) argument.pop_back();
  }
  return {command, argument};
}

awaitable<void> reply(Context& ctx, std::string text, json reply_markup) {
  OutMessage message;
  message.chat_id = ctx.chat_id;
  message.payload = {{"text", std::move(text)}, {"parse_mode", "HTML"}};
  if (!reply_markup.is_null()) message.payload["reply_markup"] = std::move(reply_markup);
  co_await telegram::Outbox::enqueue(ctx.tx, message);
}

awaitable<void> Bot::show_screen(Context& ctx, const std::string& screen, std::optional<int64_t> edit_message_id) {
  screens::Args args;
  for (size_t start = 0;;) {
    auto colon = screen.find(':', start);
    args.push_back(screen.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const screens::Screen* found = screens::find(args[0]);
  std::optional<screens::View> view;
  if (found) view = co_await found->show(ctx, args);
  if (!view) view = co_await screens::menu(ctx, args);
  if ((!found || !found->prompts) && !ctx.user.conversation.is_null()) {
    json none;
    co_await Users::set_conversation(ctx.tx, ctx.user.id, none);  // leaving a prompt cancels it
    ctx.user.conversation = nullptr;
  }
  co_await present(ctx, std::move(view->text), std::move(view->markup), edit_message_id);
}

awaitable<void> Bot::handle(db::Transaction& tx, const telegram::InboxUpdate& update) {
  // Only the update's own content is bad input (kept, logged, skipped). Past this check an error from anywhere
  // below (a type error, an invalid argument deep in billing, the database) is a bug or an outage: it propagates,
  // the update is retried, and after its last attempt it is recorded as failed with the error, and counted.
  if (update.kind == "message" || update.kind == "callback_query" || update.kind == "pre_checkout_query" ||
      update.kind == "my_chat_member") {
    if (auto problem = update_shape_problem(update.kind, update.payload))
      throw UnhandledUpdate("malformed update: " + *problem);
  }
  co_await handle_update(tx, update);
}

awaitable<void> Bot::handle_update(db::Transaction& tx, const telegram::InboxUpdate& update) {
  const json& payload = update.payload;
  if (update.kind == "my_chat_member") {
    co_await on_chat_member(tx, payload["my_chat_member"]);
    co_return;
  }
  if (update.kind != "message" && update.kind != "callback_query" && update.kind != "pre_checkout_query")
    throw UnhandledUpdate("update kind '" + update.kind + "' is not handled by this bot");
  const json& body = payload[update.kind];
  if (!body.contains("from") || !update.chat_id) throw UnhandledUpdate("update has no sender");
  // The support group: the staff's messages in ticket topics. Other groups and channels are not served.
  if (update.kind == "message" && options_.support_chat_id != 0 && body.contains("chat") &&
      body["chat"].value("id", int64_t{0}) == options_.support_chat_id) {
    co_await on_support_group_message(tx, update.update_id, body);
    co_return;
  }
  if (update.kind == "message" && body.contains("chat") && body["chat"].value("type", "private") != "private")
    throw UnhandledUpdate("message from a non-private chat");
  User user = co_await Users::touch(tx, body["from"]);
  Context ctx{*this, tx, std::move(user), *update.chat_id, update.update_id};
  // Money that arrived is always recorded, whatever else holds (a ban since the pre-checkout, maintenance, terms, a
  // budget): its policy (a banned user's configs stay off) is applied where access is granted.
  bool paid = update.kind == "message" && body.contains("successful_payment");
  Arrival arrival{update.kind, body, paid || update.kind == "pre_checkout_query", paid};
  if (update.kind == "callback_query") arrival.pressed = decode_callback(body.value("data", ""));
  for (const auto& gate : gates())
    if (co_await (this->*gate.stops)(ctx, arrival)) co_return;
  if (update.kind == "pre_checkout_query")
    co_await on_pre_checkout(ctx, body);
  else if (update.kind == "message")
    co_await on_message(ctx, body);
  else
    co_await on_callback(ctx, body);
}

awaitable<std::optional<std::string>> Bot::spend_budget(Context& ctx, budgets::Kind kind, bool once) {
  auto spent = co_await budgets::spend(ctx.tx, ctx.user.id, kind, options_.budgets);
  if (spent.allowed) co_return std::nullopt;
  if (once && !spent.tell) co_return std::string();
  co_return over_budget_notice(ctx, kind, spent.retry_after_s, spent.tell);
}

std::string over_budget_notice(const Context& ctx, budgets::Kind kind, int retry_after_s, bool first) {
  if (first) log::info("bot", "user over budget", {{"user_id", ctx.user.id}, {"kind", budgets::to_string(kind)}});
  return t(ctx, "budget.exceeded", {{"seconds", std::to_string(retry_after_s)}});
}

awaitable<void> Bot::answer_with_notice(Context& ctx, const std::string& kind, const json& body, std::string notice) {
  if (kind == "pre_checkout_query") {
    OutMessage refusal;
    refusal.chat_id = ctx.chat_id;
    refusal.method = "answerPreCheckoutQuery";
    refusal.priority = telegram::kPriorityReply + 10;
    refusal.payload = {{"pre_checkout_query_id", body.value("id", "")}, {"ok", false}, {"error_message", notice}};
    co_await telegram::Outbox::enqueue(ctx.tx, refusal);
  } else if (kind == "callback_query") {
    OutMessage answer;
    answer.chat_id = ctx.chat_id;
    answer.method = "answerCallbackQuery";
    // A callback answer shows at most 200 characters; the notice without the operator's message fits.
    answer.payload = {
        {"callback_query_id", body.value("id", "")}, {"text", utf8_prefix(notice, 200)}, {"show_alert", true}};
    co_await telegram::Outbox::enqueue(ctx.tx, answer);
  } else {
    json no_markup;
    co_await reply(ctx, std::move(notice), std::move(no_markup));
  }
}

awaitable<std::optional<bool>> is_channel_member(telegram::BotApi& api, std::string channel, int64_t user_id) {
  std::optional<bool> member;
  json params{{"chat_id", channel}, {"user_id", user_id}};  // named: no braced temporaries in co_await (g++ 12)
  try {
    json answer = co_await api.call("getChatMember", std::move(params), Millis(2000));
    std::string status = answer.value("status", "");
    member = status == "creator" || status == "administrator" || status == "member" ||
             (status == "restricted" && answer.value("is_member", false));
  } catch (const telegram::ApiError& e) {
    log::warn("bot", "getChatMember refused: this channel is not required of the user",
              {{"channel", channel}, {"error", e.what()}});
  } catch (const std::exception& e) {  // no answer in time, a broken connection, an answer of another shape
    log::warn("bot", "getChatMember failed: this channel is not required of the user",
              {{"channel", channel}, {"error", e.what()}});
  }
  co_return member;
}

awaitable<void> expect_reply(Context& ctx, json awaiting) {
  co_await Users::set_conversation(ctx.tx, ctx.user.id, awaiting);
  ctx.user.conversation = std::move(awaiting);
}

awaitable<void> Bot::on_message(Context& ctx, const json& message) {
  if (message.contains("successful_payment") && message["successful_payment"].is_object()) {
    co_await on_successful_payment(ctx, message["successful_payment"]);
    co_return;
  }
  std::string text = message.contains("text") && message["text"].is_string() ? message["text"].get<std::string>() : "";
  if (!text.empty() && text[0] == '/') {
    auto [command, argument] = split_command(text);
    co_await on_command(ctx, command, argument);
    co_return;
  }
  if (ctx.user.conversation.is_object() && !text.empty()) {
    bool answered = co_await on_admin_text(ctx, text);
    if (answered) co_return;
  }
  if (ctx.user.conversation.is_object() && ctx.user.conversation.value("await", "") == "promo_code" && !text.empty()) {
    json none;
    co_await Users::set_conversation(ctx.tx, ctx.user.id, none);
    ctx.user.conversation = nullptr;
    co_await on_promo_code(ctx, text.substr(0, 64));
    co_return;
  }
  if (co_await on_support_message(ctx, message)) co_return;
  std::string answer = t(ctx, "unknown.text");
  json markup = main_menu_keyboard(ctx);
  co_await reply(ctx, std::move(answer), std::move(markup));
}

awaitable<void> Bot::on_command(Context& ctx, const std::string& command, const std::string& argument) {
  if (command == "start") {
    std::string code;
    if (argument.rfind("ref_", 0) == 0) code = argument.substr(4, 32);
    bool first_start = !ctx.user.started;
    auto referrer = co_await Users::record_start(ctx.tx, ctx.user.id, code);
    // A first start gets one message (welcome + menu): each message costs one of the bot's 30/s.
    std::string welcome;
    if (first_start) {
      welcome = t(ctx, "start.welcome", {{"name", html_escape(ctx.user.first_name)}});
      if (referrer) welcome += "\n\n" + t(ctx, "start.referred");
    }
    if (referrer) {
      auto inviter = co_await Users::find(ctx.tx, *referrer);
      if (inviter && inviter->reachable) {
        OutMessage notice;
        notice.chat_id = inviter->id;
        notice.priority = telegram::kPriorityNotice;
        notice.delivery = telegram::Delivery::at_most_once;  // a notice nobody asked for: never twice
        notice.unique_key = "referral-joined:" + std::to_string(ctx.user.id);
        notice.payload = {{"text", catalog_.text(inviter->language, "referral.new_friend",
                                                 {{"name", html_escape(ctx.user.first_name)}})},
                          {"parse_mode", "HTML"}};
        co_await telegram::Outbox::enqueue(ctx.tx, notice);
      }
    }
    // A gift link: the welcome (first start) and the gift's outcome, which carries its own buttons.
    std::optional<std::string> gift_code;
    if (argument.rfind("gift_", 0) == 0) gift_code = billing::Gifts::normalize(argument.substr(5, 32));
    if (!gift_code && ctx.user.conversation.is_object() && ctx.user.conversation.contains("pending_gift")) {
      gift_code = ctx.user.conversation.value("pending_gift", "");  // opened at a gate (terms of service)
      json none;
      co_await Users::set_conversation(ctx.tx, ctx.user.id, none);
      ctx.user.conversation = nullptr;
    }
    if (gift_code) {
      if (!welcome.empty()) {
        json none;
        co_await reply(ctx, std::move(welcome), std::move(none));
      }
      co_await redeem_gift(ctx, *gift_code);
    } else if (welcome.empty()) {
      co_await show_screen(ctx, kMenu, std::nullopt);
    } else {
      std::string text = welcome + "\n\n" + t(ctx, "menu.title");
      json markup = main_menu_keyboard(ctx);
      co_await reply(ctx, std::move(text), std::move(markup));
    }
  } else if (command == "help") {
    co_await show_screen(ctx, kHelp, std::nullopt);
  } else if (command == "language") {
    co_await show_screen(ctx, kLanguage, std::nullopt);
  } else if (command == "admin" && is_admin(ctx)) {
    std::vector<std::string> home{"home"};
    co_await show_admin_screen(ctx, home, std::nullopt);
  } else if (command == "cancel") {
    json none;
    co_await Users::set_conversation(ctx.tx, ctx.user.id, none);
    ctx.user.conversation = nullptr;
    std::string answer = t(ctx, "promo.cancelled");
    json markup = main_menu_keyboard(ctx);
    co_await reply(ctx, std::move(answer), std::move(markup));
  } else {
    co_await show_screen(ctx, kMenu, std::nullopt);
  }
}

awaitable<void> Bot::on_callback(Context& ctx, const json& query) {
  std::string query_id = query.value("id", "");
  std::string data = query.contains("data") && query["data"].is_string() ? query["data"].get<std::string>() : "";
  std::optional<int64_t> message_id;
  if (query.contains("message") && query["message"].contains("message_id") &&
      query["message"]["message_id"].is_number_integer())
    message_id = query["message"]["message_id"].get<int64_t>();
  // A button under a file or photo (the receipt rides on the .conf) cannot become a text screen: the screen comes
  // as a new message instead.
  if (message_id && !query["message"].contains("text")) message_id.reset();
  ctx.pressed_message_id = message_id;
  auto decoded = decode_callback(data);
  bool well_formed = decoded.status == CallbackStatus::ok;
  if (well_formed && decoded.callback.action == "adm") {
    co_await on_admin_callback(ctx, query_id, decoded.callback.args, message_id);
    co_return;
  }
  const actions::Action* action = well_formed ? actions::find(decoded.callback.action) : nullptr;
  actions::Outcome outcome = actions::not_understood();
  if (action) outcome = co_await action->run(ctx, decoded.callback.args);
  if (!outcome.understood) {
    // A button of another version, a forged one, or one whose feature is off: a fresh menu instead of the old message.
    outcome.notice = t(ctx, "error.menu_expired");
    outcome.screen = "menu";
    outcome.new_message = true;
  }
  if (outcome.new_message) message_id.reset();
  OutMessage answer;
  answer.chat_id = ctx.chat_id;
  answer.method = "answerCallbackQuery";
  answer.payload = {{"callback_query_id", query_id}};
  if (!outcome.notice.empty()) answer.payload["text"] = outcome.notice;
  co_await telegram::Outbox::enqueue(ctx.tx, answer);
  if (outcome.deliver) {
    co_await deliver_config_to(ctx.tx, ctx.user.id, *outcome.deliver);
    co_return;  // the menu stays as it is; the files arrive below it
  }
  co_await show_screen(ctx, outcome.screen, message_id);
}

awaitable<void> Bot::deliver_config_to(db::Transaction& tx, int64_t user_id, int64_t peer_id,
                                       std::optional<int64_t> receipt_order) const {
  if (!options_.secret_box) throw std::runtime_error("config delivery needs the master key");
  auto user = co_await Users::find(tx, user_id);
  std::string lang = user ? user->language : "en";
  // Only the owner's configs: a forged callback with someone else's id finds nothing.
  vpn::ClientConfigData data;
  std::string missing;
  try {
    data = co_await vpn::VpnStore::client_config(tx, *options_.secret_box, peer_id, user_id);
  } catch (const std::invalid_argument& e) {
    missing = e.what();
  }
  if (!missing.empty()) {
    OutMessage sorry;
    sorry.chat_id = user_id;
    sorry.payload = {{"text", catalog_.text(lang, "error.menu_expired")}};
    co_await telegram::Outbox::enqueue(tx, sorry);
    co_return;
  }
  std::string conf = vpn::render_client_config(data);
  OutMessage document;
  document.chat_id = user_id;
  document.method = "sendDocument";
  std::string caption = catalog_.text(lang, "config.caption", {{"location", html_escape(data.location)}});
  document.payload = {{"parse_mode", "HTML"}};
  // The purchase's receipt rides on its first config: one message fewer before the config (and its QR) arrive.
  if (auto receipt = co_await claim_receipt(tx, user_id, receipt_order, lang)) {
    caption = receipt->first + "\n\n" + caption;
    document.payload["reply_markup"] = std::move(receipt->second);
    document.unique_key = "receipt:" + std::to_string(*receipt_order);
  }
  document.payload["caption"] = std::move(caption);
  document.files.push_back({"document", vpn::client_config_filename(data.node_name, peer_id), "text/plain", conf});
  co_await telegram::Outbox::enqueue(tx, document);
  co_await send_qr_photo(tx, user_id, catalog_.text(lang, "config.qr_caption"), "wireguard-qr.png", conf);
}

awaitable<std::optional<std::pair<std::string, json>>> Bot::claim_receipt(db::Transaction& tx, int64_t user_id,
                                                                          std::optional<int64_t> order_id,
                                                                          const std::string& lang) const {
  std::optional<billing::Order> order;
  if (order_id) order = co_await billing::Orders::claim_receipt(tx, *order_id, user_id);
  if (!order) co_return std::nullopt;
  co_return co_await plan_receipt(tx, *order, lang);
}

awaitable<void> Bot::on_chat_member(db::Transaction& tx, const json& member) {
  if (!member.is_object() || !member.contains("from") || !member.contains("chat"))
    throw UnhandledUpdate("my_chat_member without from/chat");
  if (member["chat"].value("type", "") != "private") co_return;
  auto user = co_await Users::touch(tx, member["from"]);
  std::string status = member.contains("new_chat_member") ? member["new_chat_member"].value("status", "") : "";
  if (status == "kicked") {
    co_await Users::set_reachable(tx, user.id, false);
    log::info("bot", "user blocked the bot", {{"user_id", user.id}});
  } else if (status == "member") {
    co_await Users::set_reachable(tx, user.id, true);
  }
}

awaitable<void> Bot::apologise(db::Pool& pool, const telegram::InboxUpdate& update) {
  if (!update.chat_id) co_return;
  std::string language = co_await Users::language_of(pool, *update.chat_id);
  OutMessage message;
  message.chat_id = *update.chat_id;
  message.payload = {{"text", catalog_.text(language, "error.try_again")}};
  message.unique_key = "apology:" + std::to_string(update.update_id);
  telegram::Outbox outbox(pool);
  co_await outbox.enqueue(message);
}

}  // namespace vpnbot::bot
