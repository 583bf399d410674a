// Xray (Remnawave) accounts in the bot: their lines in "My configs", the link with "open in <app>" buttons and a QR
// code, a new link, removal, and the notice when a period's traffic is used up.
#include <map>

#include "billing/orders.hpp"
#include "billing/traffic_packages.hpp"
#include "bot/callback.hpp"
#include "bot/context.hpp"
#include "bot/routes.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "shop/configs.hpp"
#include "vpn/client_config.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/remnawave/jobs.hpp"
#include "vpn/traffic.hpp"

namespace vpnbot::bot {

using nlohmann::json;
using telegram::OutMessage;

std::string Bot::traffic_text(const std::string& lang, int64_t used_bytes, int64_t limit_bytes) const {
  if (limit_bytes <= 0)
    return catalog_.text(lang, "xray.traffic_unlimited", {{"used", remnawave::gigabytes(used_bytes)}});
  return catalog_.text(lang, "xray.traffic",
                       {{"bar", vpn::usage_bar(used_bytes, limit_bytes)},
                        {"used", remnawave::gigabytes(used_bytes)},
                        {"limit", remnawave::gigabytes(limit_bytes)}});
}

awaitable<void> Bot::deliver_panel_link_to(db::Transaction& tx, int64_t user_id, int64_t account_id) const {
  auto user = co_await Users::find(tx, user_id);
  std::string lang = user ? user->language : "en";
  auto account = co_await remnawave::Accounts::user_account(tx, account_id, user_id);
  if (!account || !account->subscription_url) co_return;  // removed meanwhile: nothing to send
  const std::string& url = *account->subscription_url;
  std::vector<std::vector<json>> rows;
  std::vector<json> row;
  for (size_t i = 0; i < options_.panel_apps.size(); ++i) {
    json app_button{{"text", catalog_.text(lang, "xray.open_in", {{"app", options_.panel_apps[i].name}})},
                    {"url", remnawave::open_page_url(options_.public_url, i, url, options_.open_page_key)}};
    row.push_back(std::move(app_button));
    if (row.size() == 2) rows.push_back(std::move(row)), row.clear();
  }
  if (!row.empty()) rows.push_back(std::move(row));
  OutMessage message;
  message.chat_id = user_id;
  message.payload = {{"text", catalog_.text(lang, "xray.link",
                                            {{"protocol", html_escape(account->protocol)},
                                             {"location", html_escape(account->location)},
                                             {"url", html_escape(url)}})},
                     {"parse_mode", "HTML"}};
  // A purchase's first link carries its receipt, as a WireGuard purchase's first config does.
  auto order_id = account->provision_key ? billing::Orders::of_reference(*account->provision_key) : std::nullopt;
  if (auto receipt = co_await claim_receipt(tx, user_id, order_id, lang)) {
    message.payload["text"] = receipt->first + "\n\n" + message.payload["text"].get<std::string>();
    for (auto& row : receipt->second["inline_keyboard"]) rows.push_back(row.get<std::vector<json>>());
    message.unique_key = "receipt:" + std::to_string(*order_id);
  }
  if (!rows.empty()) message.payload["reply_markup"] = keyboard(std::move(rows));
  co_await telegram::Outbox::enqueue(tx, message);
  co_await send_qr_photo(tx, user_id, catalog_.text(lang, "xray.qr_caption"), "subscription-qr.png", url);
}

awaitable<void> Bot::tell_traffic_used_up(db::Transaction& tx, int64_t user_id, bool wireguard) {
  auto user = co_await Users::find(tx, user_id);
  std::string lang = user ? user->language : "en";
  std::vector<std::vector<json>> rows;
  auto packages = co_await billing::TrafficPackages::list(tx, true);
  if (!packages.empty())  // a top-up raises the Xray accounts' limit as well as the WireGuard quota
    rows.push_back({button(catalog_.text(lang, "traffic.buy_button"), route::screen("trf"))});
  rows.push_back({button(catalog_.text(lang, "xray.buy_more"), route::screen("buy"))});
  co_await send_to_user(tx, user_id, catalog_.text(lang, wireguard ? "traffic.used_up" : "xray.used_up"),
                        keyboard(std::move(rows)), "");
}

}  // namespace vpnbot::bot
