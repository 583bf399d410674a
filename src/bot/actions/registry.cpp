// The bot's actions. A new action is a function in its feature's file, declared and listed here, and a button
// builder in bot/routes.hpp.
#include "bot/registry.hpp"
#include "bot/actions/action.hpp"

namespace vpnbot::bot::actions {

// Each action's function, by the file that defines it.
ActionFunction open_screen, channels_joined, accept_terms_again, choose_language;  // navigation.cpp
ActionFunction choose_plan, choose_method, pay_plan, choose_package, pay_package;  // checkout.cpp
ActionFunction start_trial, set_auto_renew, remove_card, new_config;               // subscription.cpp
ActionFunction exchange_points;                                                    // balance.cpp
ActionFunction wireguard_config, panel_account;                                    // configs.cpp
ActionFunction close_ticket;                                                       // support.cpp

namespace {

constexpr Action kActions[] = {
    {"m", open_screen},
    {"pl", choose_plan, true},
    {"pm", choose_method, true},
    {"pc", pay_plan, true},
    {"trial", start_trial, true},
    {"tb", choose_package, true},
    {"tp", pay_package, true},
    {"ar", set_auto_renew},
    {"px", exchange_points},
    {"nc", new_config},
    {"rc", remove_card},
    {"cfg", wireguard_config},
    {"xr", panel_account},
    {"tk", close_ticket},
    {"lang", choose_language},
    {"rules", accept_terms_again},
    {"chk", channels_joined, true},
};

}  // namespace

std::span<const Action> all() {
  return kActions;
}

const Action* find(std::string_view code) {
  return find_entry(all(), &Action::code, code);
}

}  // namespace vpnbot::bot::actions
