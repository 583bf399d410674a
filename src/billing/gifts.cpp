#include "billing/gifts.hpp"

#include <sodium.h>

#include "billing/access.hpp"
#include "core/log.hpp"
#include "vpn/store.hpp"

namespace vpnbot::billing {
namespace {

// No 0/O, 1/I/L: a code read aloud or retyped from a photo still works.
constexpr std::string_view kAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";
constexpr size_t kCodeLength = 12;

constexpr const char* kGiftColumns =
    "id, code, order_id, buyer_id, plan_id, days, device_limit, state, redeemed_by, "
    "to_char(redeemed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), "
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')";

auto gift_fields(Gift& g) {
  return std::tie(g.id, g.code, g.order_id, g.buyer_id, g.plan_id, g.days, g.device_limit, g.state, g.redeemed_by,
                  g.redeemed_at, g.created_at);
}

Gift read_gift(const db::Result& r, int row) {
  Gift g;
  std::apply([&](auto&... fields) { r.read(row, fields...); }, gift_fields(g));
  return g;
}

}  // namespace

const char* to_string(GiftStatus s) {
  switch (s) {
    case GiftStatus::redeemed:
      return "redeemed";
    case GiftStatus::not_found:
      return "not_found";
    case GiftStatus::already_redeemed:
      return "already_redeemed";
    case GiftStatus::revoked:
      return "revoked";
  }
  return "?";
}

std::string Gifts::new_code() {
  std::string code;
  for (size_t i = 0; i < kCodeLength; ++i)
    code += kAlphabet[randombytes_uniform(static_cast<uint32_t>(kAlphabet.size()))];
  return code;
}

std::optional<std::string> Gifts::normalize(std::string_view typed) {
  std::string code;
  for (char c : typed) {
    if (c == ' ' || c == '-') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return std::nullopt;
    code += c;
  }
  if (code.size() != kCodeLength) return std::nullopt;
  return code;
}

awaitable<Gift> Gifts::issue(db::Transaction& tx, const Order& order) {
  if (!order.gift) throw std::invalid_argument("order " + std::to_string(order.id) + " is not a gift");
  // 31^12 codes: a collision is all but impossible, and the unique key would refuse it rather than share a code.
  auto r =
      co_await tx.exec(std::string("INSERT INTO gifts (code, order_id, buyer_id, plan_id, days, device_limit) "
                                   "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (order_id) DO NOTHING RETURNING ") +
                           kGiftColumns,
                       new_code(), order.id, order.user_id, order.plan_id, order.days, order.device_limit);
  if (!r.empty()) co_return read_gift(r, 0);
  auto existing = co_await for_order(tx, order.id);
  co_return *existing;
}

awaitable<std::optional<Gift>> Gifts::for_order(db::Transaction& tx, int64_t order_id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kGiftColumns + " FROM gifts WHERE order_id = $1", order_id);
  if (r.empty()) co_return std::nullopt;
  co_return read_gift(r, 0);
}

awaitable<GiftOutcome> Gifts::redeem(db::Transaction& tx, const std::string& code, int64_t user_id) {
  GiftOutcome out;
  // The row lock makes concurrent redemptions wait; each then re-reads state and all but the first find no row.
  auto r = co_await tx.exec(std::string("UPDATE gifts SET state = 'redeemed', redeemed_by = $2, redeemed_at = now() "
                                        "WHERE code = $1 AND state = 'open' RETURNING ") +
                                kGiftColumns,
                            code, user_id);
  if (r.empty()) {
    auto current = co_await tx.exec(std::string("SELECT ") + kGiftColumns + " FROM gifts WHERE code = $1", code);
    if (current.empty()) co_return out;
    out.gift = read_gift(current, 0);
    out.status = out.gift->state == "revoked" ? GiftStatus::revoked : GiftStatus::already_redeemed;
    co_return out;
  }
  out.gift = read_gift(r, 0);
  out.status = GiftStatus::redeemed;
  auto granted = co_await grant_paid_access(tx, user_id, out.gift->days, out.gift->device_limit, out.gift->plan_id,
                                            "gift:" + std::to_string(out.gift->id));
  out.subscription = granted.subscription;
  log::info("billing", "gift redeemed",
            {{"gift_id", out.gift->id},
             {"order_id", out.gift->order_id},
             {"buyer_id", out.gift->buyer_id},
             {"user_id", user_id},
             {"days", out.gift->days}});
  co_return out;
}

awaitable<void> Gifts::revoke(db::Transaction& tx, int64_t order_id) {
  auto r = co_await tx.exec(std::string("UPDATE gifts SET state = 'revoked' WHERE order_id = $1 AND state <> "
                                        "'revoked' RETURNING ") +
                                kGiftColumns,
                            order_id);
  if (r.empty()) co_return;
  Gift gift = read_gift(r, 0);
  if (gift.redeemed_by) {
    auto sub = co_await Subscriptions::shorten(tx, *gift.redeemed_by, gift.days);
    if (sub && !sub->active) co_await vpn::VpnStore::set_user_peers_state(tx, *gift.redeemed_by, "active", "disabled");
  }
  log::info("billing", "gift revoked by a refund",
            {{"gift_id", gift.id}, {"order_id", order_id}, {"redeemed_by", gift.redeemed_by.value_or(0)}});
}

awaitable<std::vector<Gift>> Gifts::list(db::Transaction& tx, std::optional<int64_t> buyer_id,
                                         std::optional<std::string> state, int64_t before_id, int limit) {
  auto r = co_await tx.exec(std::string("SELECT ") + kGiftColumns +
                                " FROM gifts WHERE ($1::bigint IS NULL OR buyer_id = $1) AND ($2::text IS NULL OR "
                                "state = $2) AND id < $3 ORDER BY id DESC LIMIT $4",
                            buyer_id, state, before_id, limit);
  co_return r.read_all<Gift>(gift_fields);
}

awaitable<std::vector<Gift>> Gifts::redeemed_by(db::Transaction& tx, int64_t user_id, int limit) {
  auto r = co_await tx.exec(
      std::string("SELECT ") + kGiftColumns + " FROM gifts WHERE redeemed_by = $1 ORDER BY redeemed_at DESC LIMIT $2",
      user_id, limit);
  co_return r.read_all<Gift>(gift_fields);
}

}  // namespace vpnbot::billing
