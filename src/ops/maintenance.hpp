#pragma once
#include <optional>
#include <string>

#include "core/asio.hpp"
#include "db/pool.hpp"
#include "ops/operations.hpp"

namespace vpnbot::ops {

struct MaintenanceState {
  bool on = false;
  std::optional<std::string> message;  // shown after the standard notice
  std::string changed_at;              // "YYYY-MM-DD HH:MM" UTC
  std::optional<int64_t> changed_by;
};

// The maintenance switch. Read by the bot once per update from a user (a primary-key lookup in the update's own
// transaction, so every process sees a switch at its next update, with no cache to go stale).
class Maintenance {
 public:
  static awaitable<MaintenanceState> current(db::Transaction& tx);
  // Audited; `message` (up to 1000 characters) replaces the previous one when given, and turning off clears it.
  // Returns false when the switch was already in that position (nothing changed, nothing audited).
  static awaitable<bool> set(db::Transaction& tx, const Actor& actor, bool on, std::optional<std::string> message);
};

}  // namespace vpnbot::ops
