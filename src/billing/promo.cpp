#include "billing/promo.hpp"

#include <algorithm>

#include "billing/groups.hpp"
#include "billing/ledger.hpp"
#include "billing/store.hpp"

namespace vpnbot::billing {
namespace {

constexpr const char* kColumns =
    "id, code, kind, value, unlock_plan_id, coalesce(to_json(plan_ids), '[]'::json), max_uses, uses, "
    "max_per_user, to_char(valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
    "to_char(valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), first_purchase_only, active, group_id";

const db::RowMap kPromoRow{kColumns,
                           &PromoCode::id,
                           &PromoCode::code,
                           &PromoCode::kind,
                           &PromoCode::value,
                           &PromoCode::unlock_plan_id,
                           &PromoCode::plan_ids,
                           &PromoCode::max_uses,
                           &PromoCode::uses,
                           &PromoCode::max_per_user,
                           &PromoCode::valid_from,
                           &PromoCode::valid_until,
                           &PromoCode::first_purchase_only,
                           &PromoCode::active,
                           &PromoCode::group_id};

// Takes one use if the code is usable right now; the UPDATE holds the row lock until commit, which serialises
// concurrent redemptions of the same code.
constexpr const char* kTakeUse =
    "UPDATE promo_codes SET uses = uses + 1 WHERE id = $1 AND active AND (max_uses IS NULL OR uses < max_uses) "
    "AND (valid_from IS NULL OR valid_from <= now()) AND (valid_until IS NULL OR valid_until > now()) RETURNING id";

awaitable<int64_t> uses_by_user(db::Transaction& tx, int64_t promo_id, int64_t user_id) {
  co_return co_await tx.value<int64_t>(
      "SELECT count(*) FROM promo_redemptions WHERE promo_id = $1 AND user_id = $2 AND state IN ('reserved', 'used')",
      promo_id, user_id);
}

}  // namespace

awaitable<bool> has_paid_before(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec("SELECT 1 FROM orders WHERE user_id = $1 AND paid_at IS NOT NULL LIMIT 1", user_id);
  co_return !r.empty();
}

bool PromoCode::applies_to(int64_t plan_id) const {
  if (kind == "plan") return unlock_plan_id && *unlock_plan_id == plan_id;
  return plan_ids.empty() || std::find(plan_ids.begin(), plan_ids.end(), plan_id) != plan_ids.end();
}

std::string Promos::normalize(std::string code) {
  std::string out;
  for (char c : code) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out.substr(0, 32);
}

awaitable<PromoOutcome> Promos::enter(db::Transaction& tx, int64_t user_id, std::string code,
                                      int default_device_limit) {
  PromoOutcome out;
  code = normalize(std::move(code));
  auto r = co_await tx.exec(
      std::string("SELECT ") + kColumns + ", valid_from > now(), valid_until <= now() FROM promo_codes WHERE code = $1",
      code);
  if (r.empty() || !r.get<bool>(0, 12)) co_return out;
  out.promo = kPromoRow.read(r, 0);
  const PromoCode& p = *out.promo;
  if (r.get<std::optional<bool>>(0, 14).value_or(false)) {
    out.status = PromoStatus::not_yet_valid;
    co_return out;
  }
  if (r.get<std::optional<bool>>(0, 15).value_or(false)) {
    out.status = PromoStatus::expired;
    co_return out;
  }
  if (p.max_uses && p.uses >= *p.max_uses) {
    out.status = PromoStatus::exhausted;
    co_return out;
  }
  if (p.first_purchase_only && co_await has_paid_before(tx, user_id)) {
    out.status = PromoStatus::not_first_purchase;
    co_return out;
  }
  if (co_await uses_by_user(tx, p.id, user_id) >= p.max_per_user) {
    out.status = PromoStatus::already_used;
    co_return out;
  }
  if (p.kind == "percent" || p.kind == "fixed" || p.kind == "plan") {
    co_await detach(tx, user_id);
    co_await tx.exec("INSERT INTO promo_redemptions (promo_id, user_id, state) VALUES ($1, $2, 'applied')", p.id,
                     user_id);
    out.status = PromoStatus::applied;
    co_return out;
  }
  // days / balance / group: one use now.
  auto taken = co_await tx.exec(kTakeUse, p.id);
  if (taken.empty()) {
    out.status = PromoStatus::exhausted;
    co_return out;
  }
  // Re-checked under the row lock: two concurrent entries by one user cannot both pass.
  if (co_await uses_by_user(tx, p.id, user_id) >= p.max_per_user) {
    co_await tx.exec("UPDATE promo_codes SET uses = uses - 1 WHERE id = $1", p.id);
    out.status = PromoStatus::already_used;
    co_return out;
  }
  auto redemption = co_await tx.exec(
      "INSERT INTO promo_redemptions (promo_id, user_id, state) VALUES ($1, $2, 'used') RETURNING id", p.id, user_id);
  std::string reference = "redemption:" + std::to_string(redemption.get<int64_t>(0, 0));
  if (p.kind == "group") {
    co_await PromoGroups::assign(tx, user_id, p.group_id);
    out.status = PromoStatus::joined_group;
  } else if (p.kind == "balance") {
    LedgerEntry credit{user_id, "balance", p.value, "promo", reference, std::nullopt, "promo " + p.code};
    co_await Ledger::post(tx, credit);
    out.status = PromoStatus::credited_balance;
  } else {
    auto sub = co_await Subscriptions::extend(tx, user_id, static_cast<int>(p.value), default_device_limit,
                                              std::nullopt, true);
    out.subscription_id = sub.id;
    out.status = PromoStatus::added_days;
  }
  co_return out;
}

awaitable<std::optional<PromoCode>> Promos::applied(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kColumns +
                                " FROM promo_codes WHERE active AND (valid_until IS NULL OR valid_until > now()) "
                                "AND id = (SELECT promo_id FROM promo_redemptions WHERE user_id = $1 AND state = "
                                "'applied')",
                            user_id);
  if (r.empty()) co_return std::nullopt;
  co_return kPromoRow.read(r, 0);
}

awaitable<void> Promos::detach(db::Transaction& tx, int64_t user_id) {
  co_await tx.exec("DELETE FROM promo_redemptions WHERE user_id = $1 AND state = 'applied'", user_id);
}

awaitable<bool> Promos::reserve(db::Transaction& tx, const PromoCode& promo, int64_t user_id, int64_t order_id) {
  auto taken = co_await tx.exec(kTakeUse, promo.id);
  if (taken.empty()) co_return false;
  if (co_await uses_by_user(tx, promo.id, user_id) >= promo.max_per_user) {
    co_await tx.exec("UPDATE promo_codes SET uses = uses - 1 WHERE id = $1", promo.id);
    co_return false;
  }
  auto moved = co_await tx.exec(
      "UPDATE promo_redemptions SET state = 'reserved', order_id = $3 WHERE user_id = $1 AND promo_id = $2 "
      "AND state = 'applied'",
      user_id, promo.id, order_id);
  if (moved.affected() == 0)
    co_await tx.exec(
        "INSERT INTO promo_redemptions (promo_id, user_id, order_id, state) VALUES ($1, $2, $3, 'reserved')", promo.id,
        user_id, order_id);
  co_return true;
}

awaitable<bool> Promos::honour(db::Transaction& tx, int64_t promo_id, int64_t user_id, int64_t order_id,
                               bool first_purchase) {
  auto r = co_await tx.exec(std::string("SELECT ") + kColumns + " FROM promo_codes WHERE id = $1 FOR UPDATE", promo_id);
  if (r.empty()) co_return false;
  PromoCode promo = kPromoRow.read(r, 0);
  if (promo.first_purchase_only && !first_purchase) co_return false;
  bool reserved = co_await tx.value<bool>(
      "SELECT EXISTS (SELECT 1 FROM promo_redemptions WHERE order_id = $1 AND state = 'reserved')", order_id);
  if (reserved) co_return true;
  // Taken again as a new reservation: a use the user has applied for a later checkout stays theirs.
  auto taken = co_await tx.exec(kTakeUse, promo.id);
  if (taken.empty()) co_return false;
  if (co_await uses_by_user(tx, promo.id, user_id) >= promo.max_per_user) {
    co_await tx.exec("UPDATE promo_codes SET uses = uses - 1 WHERE id = $1", promo.id);
    co_return false;
  }
  co_await tx.exec("INSERT INTO promo_redemptions (promo_id, user_id, order_id, state) VALUES ($1, $2, $3, 'reserved')",
                   promo.id, user_id, order_id);
  co_return true;
}

awaitable<void> Promos::consume(db::Transaction& tx, int64_t order_id) {
  co_await tx.exec("UPDATE promo_redemptions SET state = 'used' WHERE order_id = $1 AND state = 'reserved'", order_id);
}

awaitable<void> Promos::release(db::Transaction& tx, int64_t order_id) {
  co_await tx.exec(R"sql(
WITH released AS (DELETE FROM promo_redemptions WHERE order_id = $1 AND state = 'reserved' RETURNING promo_id)
UPDATE promo_codes SET uses = uses - 1 WHERE id IN (SELECT promo_id FROM released))sql",
                   order_id);
}

awaitable<PromoCode> Promos::create(db::Transaction& tx, const NewPromo& n) {
  std::vector<std::string> ids;
  for (auto id : n.plan_ids) ids.push_back(std::to_string(id));
  std::optional<std::string> plan_ids;
  if (!ids.empty()) plan_ids = *db::to_text_array(ids);
  auto r = co_await tx.exec(std::string("INSERT INTO promo_codes (code, kind, value, unlock_plan_id, plan_ids, "
                                        "max_uses, max_per_user, valid_from, valid_until, first_purchase_only, "
                                        "created_by, group_id) VALUES ($1, $2, $3, $4, $5::text[]::bigint[], $6, $7, "
                                        "$8, $9, $10, $11, $12) RETURNING ") +
                                kColumns,
                            normalize(n.code), n.kind, n.value, n.unlock_plan_id, plan_ids, n.max_uses, n.max_per_user,
                            n.valid_from, n.valid_until, n.first_purchase_only, n.created_by, n.group_id);
  co_return kPromoRow.read(r, 0);
}

awaitable<std::vector<PromoCode>> Promos::list(db::Transaction& tx, int64_t after_id, int limit) {
  auto r = co_await tx.exec(std::string("SELECT ") + kColumns + " FROM promo_codes WHERE id > $1 ORDER BY id LIMIT $2",
                            after_id, limit);
  co_return kPromoRow.read_all(r);
}

awaitable<bool> Promos::set_active(db::Transaction& tx, const std::string& code, bool active) {
  co_return co_await tx.changed("UPDATE promo_codes SET active = $2 WHERE code = $1", normalize(code), active);
}

}  // namespace vpnbot::billing
