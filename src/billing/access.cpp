#include "billing/access.hpp"

#include "vpn/jobs.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/remnawave/jobs.hpp"
#include "vpn/store.hpp"
#include "vpn/traffic.hpp"

namespace vpnbot::billing {

awaitable<GrantedAccess> grant_paid_access(db::Transaction& tx, int64_t user_id, int days, int device_limit,
                                           int64_t plan_id, const std::string& reference) {
  GrantedAccess granted;
  auto& sub = granted.subscription;
  sub = co_await Subscriptions::extend(tx, user_id, days, device_limit, plan_id, false);
  co_await vpn::Traffic::start_period(tx, user_id, plan_id);  // before the configs come back on: it lifts a block
  auto banned = co_await tx.exec("SELECT banned FROM users WHERE id = $1", user_id);
  if (banned.empty() || !banned.get<bool>(0, 0))
    co_await vpn::VpnStore::set_user_peers_state(tx, user_id, "disabled", "active");
  co_await remnawave::Accounts::period_paid(tx, user_id);  // a new period's traffic on Xray locations
  // The first config comes with the first grant; later ones re-enable the existing configs (above).
  if (co_await vpn::VpnStore::live_config_count(tx, user_id) == 0) {
    auto backend = co_await tx.exec("SELECT backend FROM plans WHERE id = $1", plan_id);
    bool on_panel = !backend.empty() && backend.get<std::string>(0, 0) == "remnawave";
    std::optional<int64_t> account;
    if (on_panel) account = co_await remnawave::provision_first(tx, user_id, sub.id, reference);
    granted.delivers_config = true;  // the first config or link carries the receipt
    if (!account) {                  // a WireGuard plan, or no Xray location has room: WireGuard rather than nothing
      vpn::ProvisionRequest first{user_id, reference, sub.id, sub.device_limit, std::nullopt, true};
      co_await vpn::enqueue_provision(tx, first);
    }
  }
  co_return granted;
}

}  // namespace vpnbot::billing
