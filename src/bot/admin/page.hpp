#pragma once
// The admin panel inside the bot (for the Telegram ids in admin_ids only; bot/admin_panel.cpp checks that before any
// route runs). A route is "adm:<id>:<args>": a page (what the panel shows), an action (what a button changes), or
// both; an admin's typed answer to a page's question is a reply. Each is one function in its feature's file under
// bot/admin/ and one line in registry.cpp. Changes go through ops:: (which writes the audit row in the same
// transaction); the pages render what ops:: and the domains answer.
#include <charconv>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bot/context.hpp"
#include "bot/routes.hpp"
#include "ops/operations.hpp"

namespace vpnbot::bot::admin {

using telegram::json;
// A route's id and its arguments: "adm:u:42" -> {"u", "42"}.
using Args = std::vector<std::string>;

struct Page {
  std::string text;
  std::vector<std::vector<json>> rows;  // the inline keyboard's rows
};
using PageFunction = awaitable<Page>(Context& ctx, const Args& args);

// What an action did: the answer to the button and the page shown next (empty: the pressed route's own page, or
// the panel's home when it has none). std::invalid_argument from an action is the answer, with the home page next.
struct Outcome {
  std::string notice;
  Args next;
};
using ActionFunction = awaitable<Outcome>(Context& ctx, const Args& args);

// What an admin's typed answer led to: the page shown next, or (HTML) what was wrong with it.
struct Answer {
  Args next;
  std::string problem;
};
using ReplyFunction = awaitable<Answer>(Context& ctx, const json& conversation, const std::string& text);

struct Route {
  std::string_view id;
  size_t arity;                   // arguments after the id
  PageFunction* show = nullptr;   // nullptr: an action alone
  ActionFunction* act = nullptr;  // run before the page is shown
  bool prompts = false;           // the page asks for the admin's next message, so showing it keeps that prompt
};

// A question a page asked ({"await": "admin_..."} in the conversation) and what answers it.
struct Question {
  std::string_view awaits;
  ReplyFunction* answer;
};

const Route* find(std::string_view id);
std::span<const Route> routes();
const Question* find_question(std::string_view awaits);
std::span<const Question> questions();

// The panel's home page (where an unknown route and a refused action lead).
PageFunction home;
// A page that only asks its question (registry.cpp lists them).
PageFunction ask;

inline json route_button(std::string text, Args args) {
  return button(std::move(text), route::admin(std::move(args)));
}

// The panel's back button, labelled in the admin's language.
inline json back_to(const Context& ctx, Args page) {
  return route_button(t(ctx, "admin.back"), std::move(page));
}

// A page that asks a question (after expect_reply): the question and a way back.
inline Page question(const Context& ctx, std::string text, Args back) {
  return Page{std::move(text), {{back_to(ctx, std::move(back))}}};
}

// " (off)" after an inactive item; "Turn off X" / "Turn on X".
inline std::string off_mark(const Context& ctx, bool active) {
  return active ? std::string() : t(ctx, "admin.off_mark");
}
inline std::string toggle(const Context& ctx, bool active, const std::string& what) {
  return t(ctx, active ? "admin.turn_off" : "admin.turn_on", {{"name", what}});
}

// The admin as the audit records them.
inline ops::Actor actor_of(const Context& ctx) {
  return {ctx.user.id, "bot"};
}

inline std::optional<int64_t> to_int(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace vpnbot::bot::admin
