#pragma once
#include <optional>
#include <string>
#include <vector>

#include "billing/money.hpp"
#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::billing {

struct PromoCode {
  int64_t id = 0;
  std::string code;
  std::string kind;  // percent, fixed, days, balance, plan, group
  int64_t value = 0;
  std::optional<int64_t> unlock_plan_id;
  std::optional<int64_t> group_id;  // a group code puts the user into this promo group
  std::vector<int64_t> plan_ids;    // empty: every plan
  std::optional<int> max_uses;
  int uses = 0;
  int max_per_user = 1;
  std::optional<std::string> valid_from, valid_until;  // ISO 8601 (UTC)
  bool first_purchase_only = false;
  bool active = true;

  bool applies_to(int64_t plan_id) const;
  PromoTerms terms() const { return {kind, value}; }
};

enum class PromoStatus {
  applied,           // percent/fixed/plan: attached to the user for the next checkout
  credited_balance,  // balance code: money added
  added_days,        // days code: subscription extended
  joined_group,      // group code: the user is in the code's promo group now
  not_found,         // unknown or disabled
  not_yet_valid,
  expired,
  exhausted,           // max_uses reached
  already_used,        // max_per_user reached
  not_first_purchase,  // first-purchase-only code, but the user has paid before
};

struct PromoOutcome {
  PromoStatus status = PromoStatus::not_found;
  std::optional<PromoCode> promo;
  std::optional<int64_t> subscription_id;  // days codes: the subscription that was extended
};

struct NewPromo {
  std::string code, kind;
  int64_t value = 0;
  std::optional<int64_t> unlock_plan_id;
  std::optional<int64_t> group_id;
  std::vector<int64_t> plan_ids;
  std::optional<int> max_uses;
  int max_per_user = 1;
  std::optional<std::string> valid_from, valid_until;
  bool first_purchase_only = false;
  std::optional<int64_t> created_by;
};

// Whether the user has paid for any order (a first purchase's discount and referral bonus depend on it).
awaitable<bool> has_paid_before(db::Transaction& tx, int64_t user_id);

// Promo codes. Uses are counted by a conditional UPDATE (uses < max_uses) that takes the row lock, so concurrent
// redemptions never oversell; per-user limits are checked after that lock is held.
class Promos {
 public:
  // Code typed by a user: days/balance/group codes take effect at once, the others attach to the user for checkout.
  static awaitable<PromoOutcome> enter(db::Transaction& tx, int64_t user_id, std::string code,
                                       int default_device_limit);
  // The code attached to the user (state 'applied'), if still usable.
  static awaitable<std::optional<PromoCode>> applied(db::Transaction& tx, int64_t user_id);
  static awaitable<void> detach(db::Transaction& tx, int64_t user_id);
  // Counts one use against the limits for an order; false when the code can no longer be used.
  static awaitable<bool> reserve(db::Transaction& tx, const PromoCode& promo, int64_t user_id, int64_t order_id);
  // A payment for an order with this code: true when the code may count for it. A still reserved use stands (unless
  // the code was for a first purchase and this is not one); a use given back when the order expired is taken again
  // under every limit (uses, per user, validity, first purchase).
  static awaitable<bool> honour(db::Transaction& tx, int64_t promo_id, int64_t user_id, int64_t order_id,
                                bool first_purchase);
  // The order was paid: the reserved use becomes final.
  static awaitable<void> consume(db::Transaction& tx, int64_t order_id);
  // The order expired or was cancelled: the use is given back.
  static awaitable<void> release(db::Transaction& tx, int64_t order_id);

  static awaitable<PromoCode> create(db::Transaction& tx, const NewPromo& promo);
  static awaitable<std::vector<PromoCode>> list(db::Transaction& tx, int64_t after_id, int limit);
  static awaitable<bool> set_active(db::Transaction& tx, const std::string& code, bool active);
  static std::string normalize(std::string code);
};

}  // namespace vpnbot::billing
