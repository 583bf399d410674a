#pragma once
// Every button of the user's side of the bot: its action, the gate in front of it, and the one builder of its
// callback data. Screens build their buttons with these builders, the bot looks an action up in one table, and
// the tests press the same builders, so an action's code and its arguments are spelled in one place.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/callback.hpp"

namespace vpnbot::bot::route {

// Screens a button opens ("m:<screen>[:args]"), as bot/screens/registry.cpp lists them.
std::string screen(std::string_view id);
// Every screen a button can open, for the test that renders them all.
const std::vector<std::string_view>& screen_ids();
// The shop. `provider` is a payment method's name (yookassa, heleket, cryptopay, stars, balance).
std::string plan(int64_t plan_id, bool gift = false);
std::string payment_method(int64_t plan_id, std::string_view provider, bool save_card = false, bool gift = false);
std::string pay(int64_t plan_id, std::string_view provider, bool save_card = false, bool gift = false);
std::string trial();
std::string auto_renew(bool on);
std::string remove_card();
std::string exchange_points();
std::string traffic_package(int64_t package_id);
std::string pay_traffic(int64_t package_id, std::string_view provider);
// A new config: "auto", a WireGuard node's id, or an Xray location's ("x<id>").
std::string new_config(std::string_view target);
// A WireGuard config: get (send again), rk (ask before new keys), rky (new keys).
std::string config(std::string_view verb, int64_t peer_id);
// An Xray account: get, rv / rvy (ask, then a new link), rm / rmy (ask, then remove).
std::string panel_account(std::string_view verb, int64_t account_id);
std::string close_ticket(int64_t ticket_id);
std::string language(std::string_view code);
std::string accept_terms(int version);
std::string channels_joined();  // "I've subscribed"
// The admin panel's pages and actions ("adm:<route>:<args>"; the routes are the panel's own table).
std::string admin(std::vector<std::string> path);

// The two-letter code of a payment method in callback data, and back (nullopt: no such method).
std::string method_code(std::string_view provider);
std::optional<std::string> provider_of(std::string_view code);

// Whether a button leads to a purchase (the required-channels gate stands in front of it): its action's or its
// screen's flag (bot/actions/registry.cpp, bot/screens/registry.cpp).
bool leads_to_purchase(const Callback& callback);

}  // namespace vpnbot::bot::route
