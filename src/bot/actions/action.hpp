#pragma once
// An action of the bot: what a pressed button does before a screen is shown. Each action is one function in the file
// of its feature under bot/actions/ and one line in registry.cpp: its callback code and whether it leads to a purchase
// (the required-channels gate stands in front of those). An action asks the shop core and words its answer; the
// rules (ownership, limits, budgets, prices) are the core's.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bot/callback.hpp"
#include "bot/context.hpp"
#include "bot/routes.hpp"

namespace vpnbot::bot::actions {

using Args = std::vector<std::string>;

struct Outcome {
  std::string notice;              // the answer to the button ("" for none)
  std::string screen = "menu";     // shown next, "id[:args]" (bot/screens/registry.cpp)
  std::optional<int64_t> deliver;  // a WireGuard config to send; the pressed message then stays as it is
  bool new_message = false;        // the screen comes as a new message, the pressed one stays readable
  bool understood = true;          // false: a button of another version, a forged one, or its feature is off
};

using ActionFunction = awaitable<Outcome>(Context& ctx, const Args& args);

struct Action {
  std::string_view code;
  ActionFunction* run;
  bool purchase = false;  // leads to a purchase: behind the required-channels gate
};

// nullptr for a code no action has (a forged or very old button). The admin panel's "adm" is not among them: it has
// its own routes (bot/admin_panel.cpp).
const Action* find(std::string_view code);
std::span<const Action> all();

// A refusal of a button the bot does not take (its arguments do not fit).
inline Outcome not_understood() {
  Outcome outcome;
  outcome.understood = false;
  return outcome;
}

// A notice and the screen after it.
inline Outcome answer(std::string notice, std::string screen) {
  Outcome outcome;
  outcome.notice = std::move(notice);
  outcome.screen = std::move(screen);
  return outcome;
}

}  // namespace vpnbot::bot::actions
