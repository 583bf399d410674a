#include "shop/account.hpp"

#include <climits>

#include "billing/groups.hpp"
#include "billing/referral.hpp"
#include "billing/traffic_packages.hpp"
#include "vpn/jobs.hpp"
#include "vpn/store.hpp"

namespace vpnbot::shop {

awaitable<PlanCatalog> plan_catalog(db::Transaction& tx, TrialOptions trial, int64_t user_id) {
  PlanCatalog catalog;
  catalog.plans = co_await billing::Plans::for_user(tx, user_id);
  catalog.trial_offered = trial.days > 0 && co_await billing::Subscriptions::trial_available(tx, user_id);
  auto gifts = co_await billing::Gifts::list(tx, user_id, std::nullopt, INT64_MAX, 1);
  catalog.has_gifts = !gifts.empty();
  co_return catalog;
}

awaitable<std::optional<MySubscription>> my_subscription(db::Transaction& tx, bool cards_saved, int64_t user_id) {
  auto sub = co_await billing::Subscriptions::get(tx, user_id);
  if (!sub) co_return std::nullopt;
  MySubscription mine{*sub};
  mine.configs_live = co_await vpn::VpnStore::live_config_count(tx, user_id);
  if (cards_saved) mine.saved_card = co_await billing::SavedMethods::get(tx, user_id);
  auto traffic = co_await vpn::Traffic::usage(tx, user_id);
  auto wireguard_configs = co_await vpn::VpnStore::user_configs(tx, user_id);
  if (traffic && (!wireguard_configs.empty() || traffic->used_bytes > 0)) mine.wireguard_traffic = traffic;
  mine.traffic_blocked = traffic && traffic->blocked;
  if (traffic && traffic->limit_bytes && sub->active) {  // packages are read only when they could be bought
    auto packages = co_await billing::TrafficPackages::list(tx, true);
    mine.can_top_up = !packages.empty();
  }
  mine.can_add_config = sub->active && mine.configs_live < sub->device_limit && !mine.traffic_blocked;
  for (auto& account : co_await remnawave::Accounts::user_accounts(tx, user_id))
    if (account.subscription_url) mine.panel_traffic.push_back(std::move(account));
  co_return mine;
}

awaitable<BalanceSummary> balance_summary(db::Transaction& tx, int64_t user_id, int history_lines) {
  BalanceSummary summary;
  summary.totals = co_await billing::Ledger::totals(tx, user_id);
  summary.recent = co_await billing::Ledger::recent(tx, user_id, history_lines);
  summary.points_worth = summary.totals.points * kKopecksPerPoint;
  co_return summary;
}

awaitable<std::optional<PointsExchanged>> exchange_points(db::Transaction& tx, int64_t user_id, std::string key) {
  // Both entries are referenced by the key: a replay finds them written and exchanges nothing.
  auto points = co_await billing::Ledger::exchange_points(tx, user_id, key, kKopecksPerPoint);
  if (!points) co_return std::nullopt;
  co_return PointsExchanged{*points, *points * kKopecksPerPoint};
}

awaitable<ReferralSummary> referral_summary(db::Transaction& tx, std::vector<int> percents, int64_t user_id) {
  ReferralSummary summary;
  auto stats = co_await billing::Referrals::stats(tx, user_id, static_cast<int>(percents.size()));
  summary.percents = std::move(percents);
  summary.per_level = std::move(stats.per_level);
  summary.per_level.resize(summary.percents.size(), 0);
  summary.earned = stats.earned;
  auto code = co_await tx.exec("SELECT referral_code FROM users WHERE id = $1", user_id);
  if (!code.empty()) summary.code = code.get<std::string>(0, 0);
  co_return summary;
}

awaitable<EnteredCode> enter_code(db::Transaction& tx, int default_device_limit, int64_t user_id, std::string typed,
                                  std::string key) {
  EnteredCode entered;
  // Gift codes are typed where promo codes are: a gift is tried first, a code that is none is a promo code.
  if (auto gift_code = billing::Gifts::normalize(typed)) {
    auto r = co_await tx.exec("SELECT 1 FROM gifts WHERE code = $1", *gift_code);
    if (!r.empty()) {
      entered.gift = co_await billing::Gifts::redeem(tx, *gift_code, user_id);
      co_return entered;
    }
  }
  entered.promo = co_await billing::Promos::enter(tx, user_id, typed, default_device_limit);
  using S = billing::PromoStatus;
  if (entered.promo.status == S::added_days) {
    entered.subscription = co_await billing::Subscriptions::get(tx, user_id);
    // The days are usable at once: a first config for a user without one, else the configs a lapse turned off.
    if (entered.subscription && co_await vpn::VpnStore::live_config_count(tx, user_id) == 0) {
      vpn::ProvisionRequest first{user_id,      key, entered.subscription->id, entered.subscription->device_limit,
                                  std::nullopt, true};
      co_await vpn::enqueue_provision(tx, first);
    } else {
      co_await vpn::VpnStore::set_user_peers_state(tx, user_id, "disabled", "active");
    }
  } else if (entered.promo.status == S::joined_group) {
    auto group = co_await billing::PromoGroups::of_user(tx, user_id);
    entered.group_percent = group ? group->plan_percent : 0;
  }
  co_return entered;
}

}  // namespace vpnbot::shop
