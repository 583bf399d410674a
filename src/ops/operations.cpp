#include "ops/operations.hpp"

#include "billing/traffic_packages.hpp"

#include <charconv>
#include <map>

#include "billing/jobs.hpp"
#include "billing/money.hpp"
#include "billing/orders.hpp"
#include "billing/promo.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/store.hpp"

namespace vpnbot::ops {

using nlohmann::json;

namespace {

awaitable<void> require_user(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec("SELECT 1 FROM users WHERE id = $1", user_id);
  if (r.empty()) throw std::invalid_argument("no user " + std::to_string(user_id));
}

}  // namespace

awaitable<void> Audit::record(db::Transaction& tx, const Actor& actor, const std::string& action,
                              std::optional<int64_t> target_user_id, const json& details) {
  co_await tx.exec(
      "INSERT INTO admin_audit (actor_id, via, action, target_user_id, details) VALUES ($1, $2, $3, $4, $5::jsonb)",
      actor.id, actor.via, action, target_user_id, details.dump());
}

awaitable<std::vector<AuditEntry>> Audit::recent(db::Transaction& tx, int limit,
                                                 std::optional<int64_t> target_user_id) {
  // NULL target: every entry; otherwise one user's (the partial index on target_user_id serves that case).
  std::string sql =
      "SELECT id, actor_id, via, action, target_user_id, details::text, "
      "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM admin_audit ";
  sql += target_user_id ? "WHERE target_user_id = $2 ORDER BY id DESC LIMIT $1" : "ORDER BY id DESC LIMIT $1";
  db::Result r;
  if (target_user_id)
    r = co_await tx.exec(sql, limit, *target_user_id);
  else
    r = co_await tx.exec(sql, limit);
  co_return r.read_all<AuditEntry>([](AuditEntry& e) {
    return std::tie(e.id, e.actor_id, e.via, e.action, e.target_user_id, e.details, e.created_at);
  });
}

awaitable<int64_t> Operations::set_banned(db::Transaction& tx, const Actor& actor, int64_t user_id, bool banned,
                                          std::string reason) {
  auto r =
      co_await tx.exec("UPDATE users SET banned = $2, ban_reason = CASE WHEN $2 THEN $3 ELSE NULL END WHERE id = $1",
                       user_id, banned, reason);
  if (r.affected() == 0) throw std::invalid_argument("no user " + std::to_string(user_id));
  int64_t changed = 0;
  if (banned) {
    changed = co_await vpn::VpnStore::set_user_peers_state(tx, user_id, "active", "disabled");
  } else {
    auto sub = co_await billing::Subscriptions::get(tx, user_id);
    if (sub && sub->active) changed = co_await vpn::VpnStore::set_user_peers_state(tx, user_id, "disabled", "active");
  }
  {
    std::string audit_action = banned ? "ban" : "unban";
    json audit_details = json{{"reason", reason}, {"configs_changed", changed}};
    co_await Audit::record(tx, actor, audit_action, user_id, audit_details);
  }
  co_return changed;
}

awaitable<billing::Subscription> Operations::grant_days(db::Transaction& tx, const Actor& actor, int64_t user_id,
                                                        int days, int device_limit) {
  if (days < 1 || days > 3650) throw std::invalid_argument("days must be between 1 and 3650");
  co_await require_user(tx, user_id);
  auto sub = co_await billing::Subscriptions::extend(tx, user_id, days, device_limit, std::nullopt, false);
  co_await vpn::VpnStore::set_user_peers_state(tx, user_id, "disabled", "active");
  {
    std::string audit_action = "grant_days";
    json audit_details = json{{"days", days}, {"expires_at", sub.expires_at}};
    co_await Audit::record(tx, actor, audit_action, user_id, audit_details);
  }
  co_return sub;
}

awaitable<billing::Totals> Operations::adjust_balance(db::Transaction& tx, const Actor& actor, int64_t user_id,
                                                      int64_t amount, std::string reason) {
  if (amount == 0) throw std::invalid_argument("the amount must not be zero");
  if (reason.empty()) throw std::invalid_argument("a reason is required");
  co_await require_user(tx, user_id);
  // A unique reference per adjustment: the admin means a new movement each time.
  auto ref = co_await tx.exec("SELECT 'adjustment:' || nextval('ledger_id_seq')");
  std::optional<int64_t> actor_id;
  if (actor.id) actor_id = actor.id;
  billing::LedgerEntry entry{user_id, "balance", amount, "admin", ref.get<std::string>(0, 0), actor_id, reason};
  if (!co_await billing::Ledger::post(tx, entry))
    throw std::invalid_argument("the balance is smaller than " + billing::rub_decimal(-amount) +
                                ": a debit may not make it negative");
  {
    std::string audit_action = "adjust_balance";
    json audit_details = json{{"amount", billing::rub_decimal(amount)}, {"reason", reason}};
    co_await Audit::record(tx, actor, audit_action, user_id, audit_details);
  }
  co_return co_await billing::Ledger::totals(tx, user_id);
}

awaitable<RefundResult> Operations::refund_order(db::Transaction& tx, const Actor& actor, int64_t order_id,
                                                 std::string note) {
  auto order = co_await billing::Orders::get(tx, order_id);
  if (!order) throw std::invalid_argument("no order " + std::to_string(order_id));
  RefundResult result;
  if (order->state != "paid") {
    result.message = "order " + std::to_string(order_id) + " is " + order->state + ", not paid";
    co_return result;
  }
  if (order->provider == "stars") {
    bool queued = co_await billing::enqueue_stars_refund(tx, order_id, note);
    result = {RefundOutcome::queued, "Stars refund queued (a worker calls refundStarPayment)"};
    if (!queued) {  // pressed again before the worker finished: nothing new happens and nothing is audited
      result.message = "a refund of this order is already queued";
      co_return result;
    }
  } else if (order->provider == "balance") {
    co_await billing::Orders::refund(tx, order_id, note);
    result = {RefundOutcome::refunded, "refunded to the balance"};
  } else {
    result.message =
        "refund " + order->provider + " payments in the provider's dashboard; its notification reverses the order";
    co_return result;
  }
  {
    std::string audit_action = "refund_order";
    json audit_details = json{{"order_id", order_id}, {"provider", order->provider}, {"note", note}};
    co_await Audit::record(tx, actor, audit_action, order->user_id, audit_details);
  }
  co_return result;
}

awaitable<billing::Plan> Operations::create_plan(db::Transaction& tx, const Actor& actor, billing::NewPlan plan) {
  bool code_ok = !plan.code.empty() && plan.code.size() <= 32;
  for (char c : plan.code)
    code_ok = code_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  if (!code_ok) throw std::invalid_argument("plan code: 1-32 of a-z, 0-9, _ and -");
  if (plan.days < 1 || plan.days > 3650) throw std::invalid_argument("days must be between 1 and 3650");
  if (plan.price_rub <= 0 || plan.price_stars <= 0) throw std::invalid_argument("prices must be above zero");
  if (plan.device_limit < 1 || plan.device_limit > 100) throw std::invalid_argument("devices must be 1-100");
  if (!plan.title.is_object() || !plan.title.contains("en") || plan.title["en"].get<std::string>().empty())
    throw std::invalid_argument("the plan needs an English title");
  if (co_await billing::Plans::by_code(tx, plan.code))
    throw std::invalid_argument("a plan with code " + plan.code + " exists");
  auto created = co_await billing::Plans::create(tx, plan);
  {
    std::string audit_action = "create_plan";
    json audit_details = json{{"code", created.code}, {"days", created.days}, {"price_rub", created.price_rub}};
    co_await Audit::record(tx, actor, audit_action, std::nullopt, audit_details);
  }
  co_return created;
}

awaitable<billing::PromoCode> Operations::create_promo(db::Transaction& tx, const Actor& actor,
                                                       billing::NewPromo promo) {
  promo.code = billing::Promos::normalize(promo.code);
  bool code_ok = promo.code.size() >= 3 && promo.code.size() <= 32;
  for (char c : promo.code)
    code_ok = code_ok && ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  if (!code_ok) throw std::invalid_argument("promo code: 3-32 of A-Z, 0-9, _ and -");
  const auto& kind = promo.kind;
  if (kind != "percent" && kind != "fixed" && kind != "days" && kind != "balance" && kind != "plan" && kind != "group")
    throw std::invalid_argument("kind must be percent, fixed, days, balance, plan or group");
  if (kind == "percent" && (promo.value < 1 || promo.value > 100))
    throw std::invalid_argument("a percent code takes 1-100");
  if (kind != "plan" && kind != "percent" && kind != "group" && promo.value <= 0)
    throw std::invalid_argument("the value must be above zero");
  if (kind == "group" && !promo.group_id) throw std::invalid_argument("a group code needs the group it puts users in");
  if (kind == "plan" && !promo.unlock_plan_id) throw std::invalid_argument("a plan code needs the plan it unlocks");
  if (promo.max_uses && *promo.max_uses < 1) throw std::invalid_argument("max uses must be at least 1");
  auto existing = co_await tx.exec("SELECT 1 FROM promo_codes WHERE code = $1", promo.code);
  if (!existing.empty()) throw std::invalid_argument("promo code " + promo.code + " exists");
  if (actor.id && !promo.created_by) promo.created_by = actor.id;
  auto created = co_await billing::Promos::create(tx, promo);
  {
    std::string audit_action = "create_promo";
    json audit_details = json{{"code", created.code}, {"kind", created.kind}, {"value", created.value}};
    co_await Audit::record(tx, actor, audit_action, std::nullopt, audit_details);
  }
  co_return created;
}

awaitable<bool> Operations::set_plan_field(db::Transaction& tx, const Actor& actor, std::string code, std::string field,
                                           std::string value) {
  // The table's CHECKs, said first as clear errors (a violated CHECK would abort the caller's transaction).
  static const std::map<std::string, std::pair<int64_t, int64_t>> ranges{{"price_rub", {1, INT64_MAX}},
                                                                         {"price_stars", {1, 1000000}},
                                                                         {"days", {1, 3650}},
                                                                         {"device_limit", {1, 100}},
                                                                         {"sort", {-1000000, 1000000}}};
  if (auto range = ranges.find(field); range != ranges.end()) {
    int64_t number = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc() || end != value.data() + value.size())
      throw std::invalid_argument(field + " takes a whole number");
    if (number < range->second.first || number > range->second.second)
      throw std::invalid_argument(field + " must be between " + std::to_string(range->second.first) + " and " +
                                  std::to_string(range->second.second));
  } else if (field == "hidden" || field == "active") {
    if (value != "true" && value != "false") throw std::invalid_argument(field + " takes true or false");
  } else if (field == "title_en" || field == "title_ru") {
    if (value.empty() || value.size() > 64) throw std::invalid_argument(field + " takes 1-64 characters");
  }  // any other field: Plans::set_field names the valid ones
  bool changed = co_await billing::Plans::set_field(tx, code, field, value);
  if (changed) {
    std::string audit_action = "set_plan";
    json audit_details = json{{"code", code}, {"field", field}, {"value", value}};
    co_await Audit::record(tx, actor, audit_action, std::nullopt, audit_details);
  }
  co_return changed;
}

awaitable<bool> Operations::set_promo_active(db::Transaction& tx, const Actor& actor, std::string code, bool active) {
  bool changed = co_await billing::Promos::set_active(tx, code, active);
  if (changed) {
    std::string audit_action = "set_promo";
    json audit_details = json{{"code", code}, {"active", active}};
    co_await Audit::record(tx, actor, audit_action, std::nullopt, audit_details);
  }
  co_return changed;
}

awaitable<bool> Operations::set_traffic_package_active(db::Transaction& tx, const Actor& actor, int64_t id,
                                                       bool active) {
  bool found = co_await billing::TrafficPackages::set_active(tx, id, active);
  if (found) {
    std::string audit_action = active ? "enable_traffic_package" : "disable_traffic_package";
    json audit_details = json{{"id", id}};
    co_await Audit::record(tx, actor, audit_action, std::nullopt, audit_details);
  }
  co_return found;
}

awaitable<billing::PromoGroup> Operations::create_group(db::Transaction& tx, const Actor& actor, std::string name,
                                                        int plan_percent) {
  auto created = co_await billing::PromoGroups::create(tx, name, plan_percent);
  {
    std::string audit_action = "create_group";
    json audit_details = json{{"group", created.name}, {"plan_percent", created.plan_percent}};
    co_await Audit::record(tx, actor, audit_action, std::nullopt, audit_details);
  }
  co_return created;
}

awaitable<bool> Operations::assign_group(db::Transaction& tx, const Actor& actor, int64_t user_id,
                                         std::optional<std::string> group) {
  std::optional<billing::PromoGroup> target;
  if (group) {
    target = co_await billing::PromoGroups::by_name(tx, *group);
    if (!target) throw std::invalid_argument("no promo group " + *group);
  }
  auto current = co_await billing::PromoGroups::of_user(tx, user_id);
  if ((current ? current->id : 0) == (target ? target->id : 0)) {
    auto user = co_await tx.exec("SELECT 1 FROM users WHERE id = $1", user_id);
    if (user.empty()) throw std::invalid_argument("no user " + std::to_string(user_id));
    co_return false;
  }
  std::optional<int64_t> group_id;
  if (target) group_id = target->id;
  if (!co_await billing::PromoGroups::assign(tx, user_id, group_id))
    throw std::invalid_argument("no user " + std::to_string(user_id));
  {
    std::string audit_action = "assign_group";
    json audit_details =
        json{{"group", target ? json(target->name) : json()}, {"previous", current ? json(current->name) : json()}};
    co_await Audit::record(tx, actor, audit_action, user_id, audit_details);
  }
  co_return true;
}

awaitable<bool> Operations::set_node_state(db::Transaction& tx, const Actor& actor, std::string name,
                                           std::string state) {
  if (state != "enabled" && state != "draining" && state != "disabled")
    throw std::invalid_argument("node state must be enabled, draining or disabled");
  auto r = co_await tx.exec("UPDATE vpn_nodes SET state = $2 WHERE name = $1", name, state);
  auto panel = co_await tx.exec("UPDATE panel_nodes SET state = $2 WHERE name = $1", name, state);
  if (r.affected() + panel.affected() == 0) co_return false;
  {
    std::string audit_action = "set_node_state";
    json audit_details = json{{"node", name}, {"state", state}};
    co_await Audit::record(tx, actor, audit_action, std::nullopt, audit_details);
  }
  co_return true;
}

awaitable<int64_t> Operations::resync_panel_node(db::Transaction& tx, const Actor& actor, std::string name,
                                                 std::optional<int64_t> account_id) {
  auto node = co_await remnawave::Accounts::node_by_name(tx, name);
  if (!node) throw std::invalid_argument("no remnawave node named " + name);
  int64_t asked = co_await remnawave::Accounts::resync(tx, node->id, account_id);
  if (account_id && asked == 0)
    throw std::invalid_argument("no account " + std::to_string(*account_id) + " on node " + name);
  {
    std::string audit_action = "resync_panel_node";
    json audit_details = json{{"node", name}, {"accounts", asked}};
    if (account_id) audit_details["account_id"] = *account_id;
    co_await Audit::record(tx, actor, audit_action, std::nullopt, audit_details);
  }
  co_return asked;
}

}  // namespace vpnbot::ops
