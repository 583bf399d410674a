#pragma once
// The access use cases of the shop core: a new config (WireGuard, on a chosen node or the least filled one, or an
// Xray account on a chosen panel location) and the trial with its first config. The rules (an active
// subscription, the device limit, a used-up WireGuard quota, the location still taking accounts, the per-user
// budget of config requests, one trial per user) are decided here for every front end.
#include <optional>
#include <string>

#include "billing/store.hpp"
#include "budgets/budgets.hpp"
#include "db/pool.hpp"
#include "vpn/keys.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/store.hpp"

namespace vpnbot::shop {

struct ConfigRequest {
  // At most one of them: a WireGuard node, an Xray (panel) location; neither: the least filled WireGuard node.
  std::optional<int64_t> wireguard_node, panel_node;
  std::string key;  // idempotency: one config per key however often the request is replayed
};

enum class ConfigOutcome {
  creating,           // made (or on its way): the front end tells the user it is coming
  over_budget,        // `retry_after_s`, `tell` (the first refusal of the window)
  need_subscription,  // no active subscription
  at_device_limit,    // `device_limit` configs live already
  location_refused,   // the Xray location is disabled or full
  traffic_used_up,    // the WireGuard quota of this period is spent: a new config would be off too
};

struct NewConfig {
  ConfigOutcome outcome = ConfigOutcome::creating;
  int device_limit = 0;
  int retry_after_s = 0;
  bool tell = true;
};

// A new config for `user_id` (taken by value: the coroutine may start after the caller's temporaries are gone).
awaitable<NewConfig> request_config(db::Transaction& tx, const budgets::Settings& budgets, int64_t user_id,
                                    ConfigRequest request);

struct TrialOptions {
  int days = 0;  // 0: no trial offered
  int device_limit = 1;
};

// The trial (once per user) and its first config; nullopt when it is not offered or was used.
awaitable<std::optional<billing::Subscription>> start_trial(db::Transaction& tx, TrialOptions trial, int64_t user_id);

// The user's configs: WireGuard peers and Xray accounts, each only their own.
struct MyConfigs {
  std::vector<vpn::VpnStore::UserConfig> wireguard;
  std::vector<remnawave::UserAccount> panel;
};

awaitable<MyConfigs> my_configs(db::Transaction& tx, int64_t user_id);

// What the user may do with one of their configs. Sending one again costs a file upload (or a message) and a QR
// code, and a new key or link costs a panel or node change: each takes one unit of the config-request budget.
enum class ConfigAction {
  send_again,  // the front end delivers it (WireGuard: the .conf and QR; Xray: the link)
  new_keys,    // WireGuard: new keys now, the old .conf stops working; the front end delivers the new one
  new_link,    // Xray: the panel makes a new link (sent when it is made); the old one stops working
  remove,      // Xray: the account leaves the panel (frees a device)
};

enum class OwnedConfigOutcome {
  done,
  not_found,    // not this user's, or gone (a forged or stale button)
  not_ready,    // an Xray account whose link the panel has not made yet
  over_budget,  // `retry_after_s`, `tell`
};

struct OwnedConfigChange {
  OwnedConfigOutcome outcome = OwnedConfigOutcome::not_found;
  int retry_after_s = 0;
  bool tell = true;
};

// `box` opens and seals WireGuard keys (new_keys).
awaitable<OwnedConfigChange> change_wireguard_config(db::Transaction& tx, const budgets::Settings& budgets,
                                                     const vpn::SecretBox& box, int64_t user_id, int64_t peer_id,
                                                     ConfigAction action);
awaitable<OwnedConfigChange> change_panel_account(db::Transaction& tx, const budgets::Settings& budgets,
                                                  int64_t user_id, int64_t account_id, ConfigAction action);

}  // namespace vpnbot::shop
