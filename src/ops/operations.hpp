#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "billing/groups.hpp"
#include "billing/ledger.hpp"
#include "billing/promo.hpp"
#include "billing/store.hpp"
#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::ops {

// Who acts: the admin's Telegram id (0 when the command line was not told) and through what.
struct Actor {
  int64_t id = 0;
  std::string via = "cli";  // bot or cli
};

struct AuditEntry {
  int64_t id = 0, actor_id = 0;
  std::string via, action;
  std::optional<int64_t> target_user_id;
  nlohmann::json details;
  std::string created_at;  // "YYYY-MM-DD HH:MM:SS" UTC
};

class Audit {
 public:
  // Arguments by reference: always awaited at once by callers, which keep them in named locals.
  static awaitable<void> record(db::Transaction& tx, const Actor& actor, const std::string& action,
                                std::optional<int64_t> target_user_id, const nlohmann::json& details);
  // Newest first; only one user's entries when `target_user_id` is given.
  static awaitable<std::vector<AuditEntry>> recent(db::Transaction& tx, int limit,
                                                   std::optional<int64_t> target_user_id = std::nullopt);
};

enum class RefundOutcome { queued, refunded, refused };

struct RefundResult {
  RefundOutcome outcome = RefundOutcome::refused;
  std::string message;  // human-readable, for the panel and the CLI
};

// The admin actions shared by the bot panel and `vpnbot admin`: each checks its target, changes state inside the
// caller's transaction and writes the audit row in that same transaction, so an action and its record commit
// together. Unknown targets throw std::invalid_argument with the reason.
class Operations {
 public:
  // Returns how many configs were switched off (ban) or back on (unban, when the subscription is active).
  static awaitable<int64_t> set_banned(db::Transaction& tx, const Actor& actor, int64_t user_id, bool banned,
                                       std::string reason);
  // Extends the subscription (from max(now, expiry)) and switches the user's configs back on.
  static awaitable<billing::Subscription> grant_days(db::Transaction& tx, const Actor& actor, int64_t user_id, int days,
                                                     int device_limit);
  // Signed kopecks; the ledger entry carries the reason and the actor.
  static awaitable<billing::Totals> adjust_balance(db::Transaction& tx, const Actor& actor, int64_t user_id,
                                                   int64_t amount, std::string reason);
  // Stars: queues refundStarPayment (the worker reverses the order once Telegram confirms); balance: reversed now;
  // card and crypto: refused (refunded in the provider's dashboard, whose notification reverses the order).
  static awaitable<RefundResult> refund_order(db::Transaction& tx, const Actor& actor, int64_t order_id,
                                              std::string note);
  // Checked here (code format, ranges, a free code) so bad input is a clear error, never a failed transaction.
  static awaitable<billing::Plan> create_plan(db::Transaction& tx, const Actor& actor, billing::NewPlan plan);
  static awaitable<billing::PromoCode> create_promo(db::Transaction& tx, const Actor& actor, billing::NewPromo promo);
  static awaitable<bool> set_plan_field(db::Transaction& tx, const Actor& actor, std::string code, std::string field,
                                        std::string value);
  static awaitable<bool> set_promo_active(db::Transaction& tx, const Actor& actor, std::string code, bool active);
  // A traffic package on or off sale; false when there is no such package.
  static awaitable<bool> set_traffic_package_active(db::Transaction& tx, const Actor& actor, int64_t id, bool active);
  // Promo groups: a personal discount on plans for their members.
  static awaitable<billing::PromoGroup> create_group(db::Transaction& tx, const Actor& actor, std::string name,
                                                     int plan_percent);
  // Puts a user in the group named `group` (nullopt: out of any group). Returns false when nothing changed.
  static awaitable<bool> assign_group(db::Transaction& tx, const Actor& actor, int64_t user_id,
                                      std::optional<std::string> group);
  // enabled, draining (no new configs) or disabled.
  static awaitable<bool> set_node_state(db::Transaction& tx, const Actor& actor, std::string name, std::string state);
  // A panel node's refused accounts (or one account of it) are sent to the panel again, after an admin fixed the
  // cause there. Returns how many; throws std::invalid_argument for an unknown panel node or account.
  static awaitable<int64_t> resync_panel_node(db::Transaction& tx, const Actor& actor, std::string name,
                                              std::optional<int64_t> account_id);
};

}  // namespace vpnbot::ops
