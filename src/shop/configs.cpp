#include "shop/configs.hpp"

#include "core/log.hpp"
#include "vpn/jobs.hpp"
#include "vpn/remnawave/jobs.hpp"
#include "vpn/store.hpp"
#include "vpn/traffic.hpp"

#include <algorithm>

namespace vpnbot::shop {

awaitable<NewConfig> request_config(db::Transaction& tx, const budgets::Settings& budgets, int64_t user_id,
                                    ConfigRequest request) {
  NewConfig result;
  auto spent = co_await budgets::spend(tx, user_id, budgets::Kind::config_requests, budgets);
  if (!spent.allowed) {
    result.outcome = ConfigOutcome::over_budget;
    result.retry_after_s = spent.retry_after_s;
    result.tell = spent.tell;
    co_return result;
  }
  auto sub = co_await billing::Subscriptions::get(tx, user_id);
  if (!sub || !sub->active) {
    result.outcome = ConfigOutcome::need_subscription;
    co_return result;
  }
  result.device_limit = sub->device_limit;
  auto used = co_await vpn::VpnStore::live_config_count(tx, user_id);
  if (used >= sub->device_limit) {
    result.outcome = ConfigOutcome::at_device_limit;
    co_return result;
  }
  if (request.panel_node) {
    try {
      co_await remnawave::provision_on(tx, user_id, *request.panel_node, sub->id, request.key);
    } catch (const std::invalid_argument& e) {  // disabled or full since the list was shown
      log::info("shop", "Xray location refused a new account", {{"user_id", user_id}, {"error", e.what()}});
      result.outcome = ConfigOutcome::location_refused;
    }
    co_return result;
  }
  // A used-up WireGuard quota: a new WireGuard config would be switched off too (Xray has the panel's limit).
  auto traffic = co_await vpn::Traffic::usage(tx, user_id);
  if (traffic && traffic->blocked) {
    result.outcome = ConfigOutcome::traffic_used_up;
    co_return result;
  }
  vpn::ProvisionRequest provision{user_id, request.key, sub->id, sub->device_limit, request.wireguard_node, true};
  co_await vpn::enqueue_provision(tx, provision);
  co_return result;
}

awaitable<std::optional<billing::Subscription>> start_trial(db::Transaction& tx, TrialOptions trial, int64_t user_id) {
  if (trial.days <= 0) co_return std::nullopt;
  auto sub = co_await billing::Subscriptions::grant_trial(tx, user_id, trial.days, trial.device_limit);
  if (!sub) co_return std::nullopt;
  vpn::ProvisionRequest first{user_id, "trial:" + std::to_string(user_id), sub->id, sub->device_limit, std::nullopt,
                              true};
  co_await vpn::enqueue_provision(tx, first);
  co_return sub;
}

awaitable<MyConfigs> my_configs(db::Transaction& tx, int64_t user_id) {
  MyConfigs mine;
  mine.wireguard = co_await vpn::VpnStore::user_configs(tx, user_id);
  mine.panel = co_await remnawave::Accounts::user_accounts(tx, user_id);
  co_return mine;
}

namespace {

// One unit of the config-request budget, or the refusal to return.
awaitable<std::optional<OwnedConfigChange>> over_budget(db::Transaction& tx, const budgets::Settings& budgets,
                                                        int64_t user_id) {
  auto spent = co_await budgets::spend(tx, user_id, budgets::Kind::config_requests, budgets);
  if (spent.allowed) co_return std::nullopt;
  co_return OwnedConfigChange{OwnedConfigOutcome::over_budget, spent.retry_after_s, spent.tell};
}

}  // namespace

awaitable<OwnedConfigChange> change_wireguard_config(db::Transaction& tx, const budgets::Settings& budgets,
                                                     const vpn::SecretBox& box, int64_t user_id, int64_t peer_id,
                                                     ConfigAction action) {
  // Only the owner's configs: a forged button with someone else's id finds nothing and costs nothing.
  auto configs = co_await vpn::VpnStore::user_configs(tx, user_id);
  bool owned = std::any_of(configs.begin(), configs.end(), [&](const auto& c) { return c.id == peer_id; });
  if (!owned || (action != ConfigAction::send_again && action != ConfigAction::new_keys)) co_return OwnedConfigChange{};
  if (auto refused = co_await over_budget(tx, budgets, user_id)) co_return *refused;
  if (action == ConfigAction::new_keys) {
    co_await vpn::VpnStore::regenerate_keys(tx, box, peer_id, user_id);
    log::info("shop", "new WireGuard keys asked for", {{"user_id", user_id}, {"peer_id", peer_id}});
  }
  co_return OwnedConfigChange{OwnedConfigOutcome::done};
}

awaitable<OwnedConfigChange> change_panel_account(db::Transaction& tx, const budgets::Settings& budgets,
                                                  int64_t user_id, int64_t account_id, ConfigAction action) {
  auto account = co_await remnawave::Accounts::user_account(tx, account_id, user_id);
  if (!account) co_return OwnedConfigChange{};
  switch (action) {
    case ConfigAction::send_again:
      if (auto refused = co_await over_budget(tx, budgets, user_id)) co_return *refused;
      if (!account->subscription_url) co_return OwnedConfigChange{OwnedConfigOutcome::not_ready};
      break;
    case ConfigAction::new_link:
      if (auto refused = co_await over_budget(tx, budgets, user_id)) co_return *refused;
      co_await remnawave::Accounts::revoke(tx, account_id, user_id);
      co_await remnawave::enqueue_sync(tx, account_id);
      log::info("shop", "new Xray link asked for", {{"user_id", user_id}, {"account_id", account_id}});
      break;
    case ConfigAction::remove:
      co_await remnawave::Accounts::remove(tx, account_id, user_id);
      co_await remnawave::enqueue_sync(tx, account_id);
      log::info("shop", "Xray account removed by the user", {{"user_id", user_id}, {"account_id", account_id}});
      break;
    case ConfigAction::new_keys:
      co_return OwnedConfigChange{};
  }
  co_return OwnedConfigChange{OwnedConfigOutcome::done};
}

}  // namespace vpnbot::shop
