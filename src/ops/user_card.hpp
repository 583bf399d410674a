#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "billing/gifts.hpp"
#include "billing/groups.hpp"
#include "billing/ledger.hpp"
#include "billing/orders.hpp"
#include "billing/referral.hpp"
#include "billing/store.hpp"
#include "core/asio.hpp"
#include "db/pool.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/store.hpp"
#include "vpn/traffic.hpp"

namespace vpnbot::ops {

// Everything an admin looks at for one user, read in one transaction.
struct UserCard {
  int64_t id = 0;
  std::string username, first_name, language, created_at;
  std::optional<int64_t> referrer_id;
  bool reachable = true, banned = false;
  std::string ban_reason;
  int rules_accepted_version = 0;  // the terms of service, 0 = never accepted
  std::optional<std::string> rules_accepted_at;
  std::optional<billing::PromoGroup> promo_group;  // a personal discount
  std::optional<billing::Subscription> subscription;
  std::optional<vpn::TrafficUsage> traffic;  // WireGuard traffic in the current period
  std::vector<vpn::VpnStore::UserConfig> configs;
  std::vector<remnawave::UserAccount> panel_accounts;  // Xray, with usage as last read from the panel
  std::vector<billing::Order> orders;                  // newest first, at most 10
  std::vector<billing::Gift> gifts_bought;             // newest first, at most 10
  std::vector<billing::Gift> gifts_redeemed;           // newest first, at most 10
  billing::Totals totals;
  billing::ReferralStats referrals;

  nlohmann::json to_json() const;
  std::string render(bool html) const;
};

struct UserRow {
  int64_t id = 0;
  std::string username, first_name, created_at;
  bool reachable = true, banned = false;
  std::optional<std::string> expires_at;
};

// A numeric id, or a username with or without '@' (case-insensitive, through the username index).
awaitable<std::optional<int64_t>> find_user(db::Transaction& tx, std::string query);
awaitable<std::optional<UserCard>> load_user_card(db::Transaction& tx, int64_t user_id, int referral_depth);
// Users by id (keyset pages: `after_id` is the last id of the previous page).
awaitable<std::vector<UserRow>> list_users(db::Transaction& tx, int64_t after_id, int limit);

}  // namespace vpnbot::ops
