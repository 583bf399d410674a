#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "billing/store.hpp"
#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::billing {

// Paid days turning into access, the same for a paid order and a redeemed gift: the subscription extended, a new
// traffic period (WireGuard quota from the plan, Xray locations reset), the user's configs switched back on (unless
// banned), and the first config provisioned when there is none. `reference` keys the provisioning job (one per grant,
// ever).
struct GrantedAccess {
  Subscription subscription;
  bool delivers_config = false;  // a first config (WireGuard) or link (Xray) is being provisioned and will be sent
};
awaitable<GrantedAccess> grant_paid_access(db::Transaction& tx, int64_t user_id, int days, int device_limit,
                                           int64_t plan_id, const std::string& reference);

}  // namespace vpnbot::billing
