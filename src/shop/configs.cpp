#include "shop/configs.hpp"

#include "core/log.hpp"
#include "vpn/jobs.hpp"
#include "vpn/remnawave/jobs.hpp"
#include "vpn/store.hpp"
#include "vpn/traffic.hpp"

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

}  // namespace vpnbot::shop
