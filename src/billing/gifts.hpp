#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "billing/orders.hpp"
#include "billing/store.hpp"
#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::billing {

struct Gift {
  int64_t id = 0;
  std::string code;  // 12 characters, A-Z and 2-9 without look-alikes
  int64_t order_id = 0;
  int64_t buyer_id = 0;
  int64_t plan_id = 0;
  int days = 0;
  int device_limit = 1;
  std::string state;  // open, redeemed, revoked (the order was refunded)
  std::optional<int64_t> redeemed_by;
  std::optional<std::string> redeemed_at;  // "YYYY-MM-DD HH:MM" UTC
  std::string created_at;
};

enum class GiftStatus {
  redeemed,          // the days are the redeemer's now
  not_found,         // no gift with this code
  already_redeemed,  // somebody was first
  revoked,           // the order was refunded before anyone redeemed it
};

struct GiftOutcome {
  GiftStatus status = GiftStatus::not_found;
  std::optional<Gift> gift;
  std::optional<Subscription> subscription;  // redeemed: the redeemer's subscription after the grant
};

// Gifts: a paid gift order issues one code; the first user to redeem it gets the order's days. Redemption is one
// conditional UPDATE (state = 'open'), so of any number of concurrent redemptions exactly one wins.
class Gifts {
 public:
  static std::string new_code();
  // Upper-cases and strips spaces and dashes; nullopt when the result cannot be a gift code.
  static std::optional<std::string> normalize(std::string_view typed);
  // Issues the gift of a paid gift order (once: a replay returns the same gift).
  static awaitable<Gift> issue(db::Transaction& tx, const Order& order);
  static awaitable<std::optional<Gift>> for_order(db::Transaction& tx, int64_t order_id);
  static awaitable<GiftOutcome> redeem(db::Transaction& tx, const std::string& code, int64_t user_id);
  // The gift order was refunded: an open gift can no longer be redeemed, a redeemed one loses its days.
  static awaitable<void> revoke(db::Transaction& tx, int64_t order_id);
  // Newest first, keyset by id; a buyer's gifts or a state's.
  static awaitable<std::vector<Gift>> list(db::Transaction& tx, std::optional<int64_t> buyer_id,
                                           std::optional<std::string> state, int64_t before_id, int limit);
  // The gifts a user redeemed, newest first.
  static awaitable<std::vector<Gift>> redeemed_by(db::Transaction& tx, int64_t user_id, int limit);
};

const char* to_string(GiftStatus s);

}  // namespace vpnbot::billing
