#include "ops/user_card.hpp"

#include <fmt/format.h>

#include <charconv>

#include "billing/money.hpp"
#include "core/encoding.hpp"

namespace vpnbot::ops {

using nlohmann::json;

awaitable<std::optional<int64_t>> find_user(db::Transaction& tx, std::string query) {
  while (!query.empty() && std::isspace(static_cast<unsigned char>(query.back()))) query.pop_back();
  while (!query.empty() && std::isspace(static_cast<unsigned char>(query.front()))) query.erase(0, 1);
  if (query.empty()) co_return std::nullopt;
  int64_t id = 0;
  auto [end, ec] = std::from_chars(query.data(), query.data() + query.size(), id);
  db::Result r;
  if (ec == std::errc() && end == query.data() + query.size()) {
    r = co_await tx.exec("SELECT id FROM users WHERE id = $1", id);
  } else {
    if (query[0] == '@') query.erase(0, 1);
    r = co_await tx.exec("SELECT id FROM users WHERE lower(username) = lower($1) AND username IS NOT NULL LIMIT 1",
                         query);
  }
  if (r.empty()) co_return std::nullopt;
  co_return r.get<int64_t>(0, 0);
}

awaitable<std::optional<UserCard>> load_user_card(db::Transaction& tx, int64_t user_id, int referral_depth) {
  auto r = co_await tx.exec(
      "SELECT id, coalesce(username, ''), first_name, language, "
      "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), referrer_id, reachable, banned, "
      "coalesce(ban_reason, ''), rules_accepted_version, "
      "to_char(rules_accepted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM users WHERE id = $1",
      user_id);
  if (r.empty()) co_return std::nullopt;
  UserCard card;
  r.read(0, card.id, card.username, card.first_name, card.language, card.created_at, card.referrer_id, card.reachable,
         card.banned, card.ban_reason, card.rules_accepted_version, card.rules_accepted_at);
  card.promo_group = co_await billing::PromoGroups::of_user(tx, user_id);
  card.subscription = co_await billing::Subscriptions::get(tx, user_id);
  card.traffic = co_await vpn::Traffic::usage(tx, user_id);
  card.configs = co_await vpn::VpnStore::user_configs(tx, user_id);
  card.panel_accounts = co_await remnawave::Accounts::user_accounts(tx, user_id);
  card.orders = co_await billing::Orders::list(tx, user_id, std::nullopt, INT64_MAX, 10);
  card.gifts_bought = co_await billing::Gifts::list(tx, user_id, std::nullopt, INT64_MAX, 10);
  card.gifts_redeemed = co_await billing::Gifts::redeemed_by(tx, user_id, 10);
  card.totals = co_await billing::Ledger::totals(tx, user_id);
  card.referrals = co_await billing::Referrals::stats(tx, user_id, referral_depth);
  co_return card;
}

awaitable<std::vector<UserRow>> list_users(db::Transaction& tx, int64_t after_id, int limit) {
  auto r = co_await tx.exec(
      "SELECT u.id, coalesce(u.username, ''), u.first_name, to_char(u.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "
      "u.reachable, u.banned, to_char(s.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
      "FROM users u LEFT JOIN subscriptions s ON s.user_id = u.id WHERE u.id > $1 ORDER BY u.id LIMIT $2",
      after_id, limit);
  co_return r.read_all<UserRow>([](UserRow& row) {
    return std::tie(row.id, row.username, row.first_name, row.created_at, row.reachable, row.banned, row.expires_at);
  });
}

namespace {

std::string order_amount(const billing::Order& o) {
  return o.currency == "XTR" ? std::to_string(o.amount) + " ⭐" : billing::format_rub(o.amount);
}

}  // namespace

json UserCard::to_json() const {
  json out{{"id", id},
           {"username", username},
           {"first_name", first_name},
           {"language", language},
           {"created_at", created_at},
           {"referrer_id", referrer_id ? json(*referrer_id) : json()},
           {"reachable", reachable},
           {"banned", banned},
           {"ban_reason", ban_reason},
           {"rules_accepted_version", rules_accepted_version},
           {"rules_accepted_at", rules_accepted_at ? json(*rules_accepted_at) : json()},
           {"balance", billing::rub_decimal(totals.balance)},
           {"points", totals.points},
           {"referrals_per_level", referrals.per_level},
           {"referral_earnings", billing::rub_decimal(referrals.earned)},
           {"promo_group",
            promo_group ? json{{"name", promo_group->name}, {"plan_percent", promo_group->plan_percent}} : json()}};
  if (subscription)
    out["subscription"] = {{"expires_at", subscription->expires_at},
                           {"active", subscription->active},
                           {"device_limit", subscription->device_limit},
                           {"trial_only", subscription->trial_only},
                           {"auto_renew", subscription->auto_renew}};
  if (traffic)
    out["wireguard_traffic"] = {{"used_bytes", traffic->used_bytes},
                                {"limit_bytes", traffic->limit_bytes ? json(*traffic->limit_bytes) : json()},
                                {"extra_bytes", traffic->extra_bytes},
                                {"blocked", traffic->blocked}};
  out["configs"] = json::array();
  for (const auto& c : configs) out["configs"].push_back({{"id", c.id}, {"node", c.node_name}, {"state", c.state}});
  out["panel_accounts"] = json::array();
  for (const auto& a : panel_accounts)
    out["panel_accounts"].push_back({{"id", a.id},
                                     {"node", a.node_name},
                                     {"protocol", a.protocol},
                                     {"state", a.state},
                                     {"in_sync", a.in_sync},
                                     {"panel_status", a.panel_status ? json(*a.panel_status) : json()},
                                     {"used_bytes", a.used_bytes},
                                     {"limit_bytes", a.limit_bytes},
                                     {"usage_read_at", a.usage_read_at ? json(*a.usage_read_at) : json()},
                                     {"subscription_url", a.subscription_url ? json(*a.subscription_url) : json()},
                                     {"panel_refused", a.last_error ? json(*a.last_error) : json()}});
  out["orders"] = json::array();
  for (const auto& o : orders)
    out["orders"].push_back({{"id", o.id},
                             {"provider", o.provider},
                             {"amount", o.amount},
                             {"currency", o.currency},
                             {"state", o.state},
                             {"gift", o.gift}});
  auto gift_json = [](const billing::Gift& g) {
    return json{{"id", g.id},
                {"code", g.code},
                {"order_id", g.order_id},
                {"days", g.days},
                {"state", g.state},
                {"buyer_id", g.buyer_id},
                {"redeemed_by", g.redeemed_by ? json(*g.redeemed_by) : json()}};
  };
  out["gifts_bought"] = json::array();
  for (const auto& g : gifts_bought) out["gifts_bought"].push_back(gift_json(g));
  out["gifts_redeemed"] = json::array();
  for (const auto& g : gifts_redeemed) out["gifts_redeemed"].push_back(gift_json(g));
  return out;
}

std::string UserCard::render(bool html) const {
  auto esc = [&](const std::string& s) { return html ? html_escape(s) : s; };
  std::string out = fmt::format("{}{}{} (id {})\n", html ? "<b>" : "", esc(first_name), html ? "</b>" : "", id);
  if (!username.empty()) out += "@" + esc(username) + "\n";
  out += fmt::format("joined {} UTC, language {}{}\n", created_at, language,
                     referrer_id ? ", invited by " + std::to_string(*referrer_id) : "");
  if (banned) out += "BANNED: " + esc(ban_reason) + "\n";
  if (rules_accepted_at)
    out += fmt::format("accepted the terms v{} at {} UTC\n", rules_accepted_version, *rules_accepted_at);
  if (!reachable) out += "has blocked the bot\n";
  if (promo_group)
    out += fmt::format("promo group {} ({}% off plans)\n", esc(promo_group->name), promo_group->plan_percent);
  if (subscription)
    out += fmt::format("subscription: {} until {} UTC, {} device(s){}{}\n", subscription->active ? "active" : "expired",
                       subscription->expires_at, subscription->device_limit, subscription->trial_only ? ", trial" : "",
                       subscription->auto_renew ? ", auto-renew" : "");
  else
    out += "no subscription\n";
  if (traffic && (traffic->limit_bytes || traffic->used_bytes > 0))
    out += fmt::format("WireGuard traffic this period: {} GB of {}{}\n", remnawave::gigabytes(traffic->used_bytes),
                       traffic->limit_bytes ? remnawave::gigabytes(*traffic->limit_bytes) + " GB" : "unlimited",
                       traffic->blocked ? ", configs off for the quota" : "");
  out += fmt::format("balance {}, points {}\n", billing::format_rub(totals.balance), totals.points);
  std::string levels;
  for (size_t i = 0; i < referrals.per_level.size(); ++i)
    levels += (i ? ", " : "") + fmt::format("L{} {}", i + 1, referrals.per_level[i]);
  out += fmt::format("referrals: {} (earned {})\n", levels.empty() ? "none" : levels,
                     billing::format_rub(referrals.earned));
  out += fmt::format("configs ({}):\n", configs.size());
  for (const auto& c : configs) out += fmt::format("  #{} {} {}\n", c.id, esc(c.node_name), c.state);
  if (!panel_accounts.empty()) out += fmt::format("xray accounts ({}):\n", panel_accounts.size());
  for (const auto& a : panel_accounts) {
    std::string usage = remnawave::gigabytes(a.used_bytes) + " GB / " +
                        (a.limit_bytes > 0 ? remnawave::gigabytes(a.limit_bytes) + " GB" : "unlimited");
    out += fmt::format("  #{} {} {} {}, panel {}, used {}{}{}\n", a.id, esc(a.node_name), esc(a.protocol), a.state,
                       esc(a.panel_status.value_or("not created yet")), usage,
                       a.usage_read_at ? " (read " + *a.usage_read_at + ")" : "", a.in_sync ? "" : ", sync pending");
    if (a.last_error) out += "    panel refused: " + esc(*a.last_error) + "\n";
  }
  out += fmt::format("orders (last {}):\n", orders.size());
  for (const auto& o : orders)
    out += fmt::format("  #{} {} {} {}{}\n", o.id, o.provider, order_amount(o), o.state, o.gift ? ", a gift" : "");
  for (const auto& g : gifts_bought)
    out += fmt::format("gift #{} bought (order #{}, {} days): {}{}\n", g.id, g.order_id, g.days, g.state,
                       g.redeemed_by ? " by " + std::to_string(*g.redeemed_by) : "");
  for (const auto& g : gifts_redeemed)
    out += fmt::format("gift #{} redeemed from {} ({} days){}\n", g.id, g.buyer_id, g.days,
                       g.state == "revoked" ? ", revoked by a refund" : "");
  return out;
}

}  // namespace vpnbot::ops
