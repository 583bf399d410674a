#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::billing {

struct Plan {
  int64_t id = 0;
  std::string code;
  nlohmann::json title;  // {"en": .., "ru": ..}
  int days = 0;
  int64_t price_rub = 0;  // kopecks
  int64_t price_stars = 0;
  int device_limit = 1;
  bool hidden = false;
  bool active = true;
  int sort = 0;
  std::optional<int> traffic_gb;      // per period; nullopt: unlimited
  std::optional<int> panel_devices;   // devices per subscription link on Xray locations; nullopt: device_limit
  std::string backend = "wireguard";  // where the first config is made: wireguard, or remnawave (Xray)
  std::string title_for(const std::string& language) const;
};

struct NewPlan {
  std::string code;
  nlohmann::json title;
  int days = 30;
  int64_t price_rub = 0;
  int64_t price_stars = 0;
  int device_limit = 1;
  bool hidden = false;
  int sort = 0;
};

class Plans {
 public:
  // Active plans the user may buy: visible ones plus a hidden one unlocked by the user's applied promo code.
  static awaitable<std::vector<Plan>> for_user(db::Transaction& tx, int64_t user_id);
  static awaitable<std::optional<Plan>> get(db::Transaction& tx, int64_t plan_id);
  static awaitable<std::optional<Plan>> by_code(db::Transaction& tx, const std::string& code);
  static awaitable<std::vector<Plan>> all(db::Transaction& tx);
  static awaitable<Plan> create(db::Transaction& tx, const NewPlan& plan);
  // Changes one field of a plan (price_rub, price_stars, days, device_limit, hidden, active, sort, title_en, title_ru).
  static awaitable<bool> set_field(db::Transaction& tx, const std::string& code, const std::string& field,
                                   const std::string& value);
};

struct Subscription {
  int64_t id = 0;
  int64_t user_id = 0;
  std::optional<int64_t> plan_id;
  std::string expires_at;  // "YYYY-MM-DD HH:MM" UTC
  int64_t seconds_left = 0;
  bool active = false;
  int device_limit = 1;
  bool trial_only = false;
  bool auto_renew = false;
};

class Subscriptions {
 public:
  static awaitable<std::optional<Subscription>> get(db::Transaction& tx, int64_t user_id);
  // Adds days from max(now, expiry) so remaining time is never lost. While the subscription is active the device
  // limit only grows (an upgrade applies at once); after expiry the new plan's limit applies.
  static awaitable<Subscription> extend(db::Transaction& tx, int64_t user_id, int days, int device_limit,
                                        std::optional<int64_t> plan_id, bool trial);
  // Takes days back (refund); returns the new state.
  static awaitable<std::optional<Subscription>> shorten(db::Transaction& tx, int64_t user_id, int days);
  // Marks up to `limit` subscriptions that expired more than `grace` ago as deactivated and returns their users
  // (whose configs the caller disables in the same transaction). A renewal clears the mark.
  // `now_ms`: the scheduler's notion of now (its job's at_ms); the database clock when absent.
  static awaitable<std::vector<int64_t>> deactivate_expired(db::Transaction& tx, Millis grace, int limit,
                                                            std::optional<int64_t> now_ms = std::nullopt);
  static awaitable<bool> set_auto_renew(db::Transaction& tx, int64_t user_id, bool on);
  // Whether the user may still take the trial (never had one, no subscription yet).
  static awaitable<bool> trial_available(db::Transaction& tx, int64_t user_id);
  // Grants the trial once per user, ever. nullopt when it was taken before or a subscription exists.
  static awaitable<std::optional<Subscription>> grant_trial(db::Transaction& tx, int64_t user_id, int days,
                                                            int device_limit);
};

}  // namespace vpnbot::billing
