#include "bot/routes.hpp"

#include <array>
#include <vector>

#include "bot/actions/action.hpp"
#include "bot/screens/screen.hpp"

namespace vpnbot::bot::route {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kMethodCodes{
    {{"yk", "yookassa"}, {"hk", "heleket"}, {"cp", "cryptopay"}, {"st", "stars"}, {"bl", "balance"}}};

// A plan's method ("pm") or payment ("pc") button: the card-saving consent and the gift are flags after the method.
std::string plan_payment(std::string_view action, int64_t plan_id, std::string_view provider, bool save_card,
                         bool gift) {
  std::vector<std::string> args{std::to_string(plan_id), method_code(provider)};
  if (save_card) args.push_back("s");
  if (gift) args.push_back("g");
  return encode_callback(action, args);
}

}  // namespace

std::string method_code(std::string_view provider) {
  for (const auto& [code, name] : kMethodCodes)
    if (name == provider) return std::string(code);
  return "";
}

std::optional<std::string> provider_of(std::string_view code) {
  for (const auto& [known, name] : kMethodCodes)
    if (known == code) return std::string(name);
  return std::nullopt;
}

const std::vector<std::string_view>& screen_ids() {
  static const std::vector<std::string_view> ids = [] {
    std::vector<std::string_view> listed;
    for (const auto& screen : screens::all())
      if (screen.listed) listed.push_back(screen.id);
    return listed;
  }();
  return ids;
}

std::string screen(std::string_view id) {
  return encode_callback("m", {std::string(id)});
}

std::string plan(int64_t plan_id, bool gift) {
  std::vector<std::string> args{std::to_string(plan_id)};
  if (gift) args.push_back("g");
  return encode_callback("pl", args);
}

std::string payment_method(int64_t plan_id, std::string_view provider, bool save_card, bool gift) {
  return plan_payment("pm", plan_id, provider, save_card, gift);
}

std::string pay(int64_t plan_id, std::string_view provider, bool save_card, bool gift) {
  return plan_payment("pc", plan_id, provider, save_card, gift);
}

std::string trial() {
  return encode_callback("trial");
}

std::string auto_renew(bool on) {
  return encode_callback("ar", {on ? "on" : "off"});
}

std::string remove_card() {
  return encode_callback("rc");
}

std::string exchange_points() {
  return encode_callback("px");
}

std::string traffic_package(int64_t package_id) {
  return encode_callback("tb", {std::to_string(package_id)});
}

std::string pay_traffic(int64_t package_id, std::string_view provider) {
  return encode_callback("tp", {std::to_string(package_id), method_code(provider)});
}

std::string new_config(std::string_view target) {
  return encode_callback("nc", {std::string(target)});
}

std::string config(std::string_view verb, int64_t peer_id) {
  return encode_callback("cfg", {std::string(verb), std::to_string(peer_id)});
}

std::string panel_account(std::string_view verb, int64_t account_id) {
  return encode_callback("xr", {std::string(verb), std::to_string(account_id)});
}

std::string close_ticket(int64_t ticket_id) {
  return encode_callback("tk", {"c", std::to_string(ticket_id)});
}

std::string language(std::string_view code) {
  return encode_callback("lang", {std::string(code)});
}

std::string accept_terms(int version) {
  return encode_callback("rules", {std::to_string(version)});
}

std::string channels_joined() {
  return encode_callback("chk");
}

std::string admin(std::vector<std::string> path) {
  return encode_callback("adm", path);
}

bool leads_to_purchase(const Callback& callback) {
  if (callback.action == "m") {
    const screens::Screen* screen = callback.args.empty() ? nullptr : screens::find(callback.args[0]);
    return screen && screen->purchase;
  }
  const actions::Action* action = actions::find(callback.action);
  return action && action->purchase;
}

}  // namespace vpnbot::bot::route
