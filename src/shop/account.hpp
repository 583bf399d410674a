#pragma once
// What a user has, as any front end shows it: the plans offered to them, their subscription (devices, traffic, what
// they may do next), their balance and points, their referrals, and the codes they type (promo or gift). The rules
// (what is offered, when a top-up or a new config is possible, the points' rate, what a days code provisions) are
// decided here; a front end only words the answers.
#include <optional>
#include <string>
#include <vector>

#include "billing/gifts.hpp"
#include "billing/ledger.hpp"
#include "billing/promo.hpp"
#include "billing/saved_methods.hpp"
#include "billing/store.hpp"
#include "db/pool.hpp"
#include "shop/configs.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/traffic.hpp"

namespace vpnbot::shop {

// Points turn into balance at this rate (kopecks per point).
inline constexpr int64_t kKopecksPerPoint = 100;

struct PlanCatalog {
  std::vector<billing::Plan> plans;  // those on sale to this user (public, or unlocked by their plan code)
  bool trial_offered = false;        // a trial is configured and the user has not had it
  bool has_gifts = false;            // the user bought a gift: "my gifts" is worth showing
};

awaitable<PlanCatalog> plan_catalog(db::Transaction& tx, TrialOptions trial, int64_t user_id);

struct MySubscription {
  billing::Subscription subscription;
  int64_t configs_live = 0;  // devices in use, against subscription.device_limit
  // The WireGuard quota of this period, when the user has WireGuard configs or used any traffic.
  std::optional<vpn::TrafficUsage> wireguard_traffic;
  bool traffic_blocked = false;                       // the WireGuard configs are off until a top-up or a renewal
  bool can_top_up = false;                            // a limited quota, an active subscription and packages on sale
  bool can_add_config = false;                        // active, below the device limit, the WireGuard quota not spent
  std::optional<billing::SavedMethod> saved_card;     // only where cards may be saved
  std::vector<remnawave::UserAccount> panel_traffic;  // Xray accounts with a link: the panel counts their traffic
};

// nullopt: the user never had a subscription.
awaitable<std::optional<MySubscription>> my_subscription(db::Transaction& tx, bool cards_saved, int64_t user_id);

struct BalanceSummary {
  billing::Totals totals;
  std::vector<billing::LedgerLine> recent;  // newest first
  int64_t points_worth = 0;                 // kopecks the points would exchange for now (0: nothing to exchange)
};

awaitable<BalanceSummary> balance_summary(db::Transaction& tx, int64_t user_id, int history_lines);

struct PointsExchanged {
  int64_t points = 0;
  int64_t kopecks = 0;
};

// All points into balance, once per `key` (a replayed request exchanges nothing twice); nullopt: no points.
awaitable<std::optional<PointsExchanged>> exchange_points(db::Transaction& tx, int64_t user_id, std::string key);

struct ReferralSummary {
  std::vector<int> percents;       // the reward per level, level 1 first
  std::vector<int64_t> per_level;  // friends invited per level
  int64_t earned = 0;              // kopecks, net of reversals
  std::string code;                // the user's invitation code (?start=ref_<code>)
};

awaitable<ReferralSummary> referral_summary(db::Transaction& tx, std::vector<int> percents, int64_t user_id);

// A code the user typed: a gift's code when one exists, else a promo code.
struct EnteredCode {
  std::optional<billing::GiftOutcome> gift;           // it was a gift code: its redemption
  billing::PromoOutcome promo;                        // otherwise the promo code's outcome
  std::optional<billing::Subscription> subscription;  // days added (a days code)
  int group_percent = 0;                              // joined_group: the group's plan discount
};

// `key` makes the provisioning of a days code's first config happen once however often the request is replayed.
awaitable<EnteredCode> enter_code(db::Transaction& tx, int default_device_limit, int64_t user_id, std::string typed,
                                  std::string key);

}  // namespace vpnbot::shop
