#include "ops/maintenance.hpp"

#include <stdexcept>

#include "core/encoding.hpp"

namespace vpnbot::ops {

awaitable<MaintenanceState> Maintenance::current(db::Transaction& tx) {
  auto r = co_await tx.exec(
      "SELECT enabled, message, to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), changed_by "
      "FROM maintenance");
  MaintenanceState state;
  if (r.empty()) co_return state;  // the migration inserts the row; an operator deleting it means "off"
  r.read(0, state.on, state.message, state.changed_at, state.changed_by);
  co_return state;
}

awaitable<bool> Maintenance::set(db::Transaction& tx, const Actor& actor, bool on, std::optional<std::string> message) {
  if (message && utf8_length(*message) > 1000)
    throw std::invalid_argument("the maintenance message is over 1000 characters");
  db::Param new_message;
  if (on && message) new_message = *message;
  auto r = co_await tx.exec(
      "INSERT INTO maintenance (singleton, enabled, message, changed_at, changed_by) VALUES (true, $1, $2, now(), $3) "
      "ON CONFLICT (singleton) DO UPDATE SET enabled = $1, "
      "  message = CASE WHEN NOT $1 THEN NULL WHEN $4 THEN $2 ELSE maintenance.message END, "
      "  changed_at = now(), changed_by = $3 "
      "WHERE maintenance.enabled <> $1 OR ($1 AND $4 AND maintenance.message IS DISTINCT FROM $2) RETURNING 1",
      on, new_message, actor.id, message.has_value());
  if (r.empty()) co_return false;
  std::string audit_action = on ? "maintenance_on" : "maintenance_off";
  nlohmann::json audit_details = nlohmann::json::object();
  if (on && message) audit_details["message"] = *message;
  co_await Audit::record(tx, actor, audit_action, std::nullopt, audit_details);
  co_return true;
}

}  // namespace vpnbot::ops
