// The admin panel inside the bot, for the Telegram ids in admin_ids only: every route and every answer to a
// panel's question is checked here, before anything is read or changed; a non-admin gets the same refusal for every
// admin route. The pages, actions and questions are the registry's (bot/admin/registry.cpp).
#include "bot/admin/page.hpp"
#include "core/log.hpp"

namespace vpnbot::bot {

using telegram::json;
using telegram::OutMessage;

std::set<std::string> Bot::admin_actions() {
  std::set<std::string> out;
  for (const auto& route : admin::routes()) out.insert(std::string(route.id));
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
  const admin::Route* route = screen.empty() ? nullptr : admin::find(screen[0]);
  if (!route || !route->show || screen.size() != route->arity + 1) route = admin::find("home");
  admin::Args args = route->id == "home" ? admin::Args{"home"} : screen;
  admin::Page page = co_await route->show(ctx, args);
  bool prompting = route->prompts && ctx.user.conversation.is_object() &&
                   ctx.user.conversation.value("await", "").rfind("admin_", 0) == 0;
  if (!prompting && !ctx.user.conversation.is_null()) {
    json none;
    co_await Users::set_conversation(ctx.tx, ctx.user.id, none);  // leaving a prompt cancels it
    ctx.user.conversation = nullptr;
  }
  co_await present(ctx, std::move(page.text), keyboard(std::move(page.rows)), edit_message_id);
}

awaitable<void> Bot::on_admin_callback(Context& ctx, const std::string& query_id, const std::vector<std::string>& args,
                                       std::optional<int64_t> message_id) {
  OutMessage answer;
  answer.chat_id = ctx.chat_id;
  answer.method = "answerCallbackQuery";
  answer.payload = {{"callback_query_id", query_id}};
  if (!is_admin(ctx)) {
    log::warn("admin", "admin route refused to a non-admin",
              {{"user_id", ctx.user.id}, {"route", args.empty() ? "" : args[0]}});
    answer.payload["text"] = t(ctx, "admin.refused");
    co_await telegram::Outbox::enqueue(ctx.tx, answer);
    std::string menu = "menu";
    co_await show_screen(ctx, menu, std::nullopt);
    co_return;
  }
  const admin::Route* route = args.empty() ? nullptr : admin::find(args[0]);
  if (!route || args.size() != route->arity + 1) {
    answer.payload["text"] = t(ctx, "error.menu_expired");
    co_await telegram::Outbox::enqueue(ctx.tx, answer);
    std::vector<std::string> home{"home"};
    co_await show_admin_screen(ctx, home, std::nullopt);
    co_return;
  }
  admin::Outcome outcome;
  try {
    if (route->act) outcome = co_await route->act(ctx, args);
  } catch (const std::invalid_argument& e) {
    outcome = {e.what(), {"home"}};
  }
  if (outcome.next.empty()) outcome.next = args;  // the route's own page (the home page for an action alone)
  if (!outcome.notice.empty()) answer.payload["text"] = utf8_prefix(outcome.notice, 200);
  co_await telegram::Outbox::enqueue(ctx.tx, answer);
  co_await show_admin_screen(ctx, outcome.next, message_id);
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
  admin::Answer answer;
  try {
    if (const admin::Question* question = admin::find_question(awaiting))
      answer = co_await question->answer(ctx, conversation, text);
  } catch (const std::invalid_argument& e) {
    answer.problem = html_escape(e.what());
  }
  if (!answer.next.empty() && answer.problem.empty()) {
    co_await show_admin_screen(ctx, answer.next, std::nullopt);
    co_return true;
  }
  if (answer.problem.empty()) answer.problem = t(ctx, "admin.not_understood");
  json markup = keyboard({{admin::back_to(ctx, {"home"})}});
  co_await reply(ctx, "⚠️ " + answer.problem, std::move(markup));
  co_return true;
}

}  // namespace vpnbot::bot
