#include "billing/store.hpp"

#include <set>

namespace vpnbot::billing {
namespace {

constexpr const char* kPlanColumns =
    "id, code, title, days, price_rub, price_stars, device_limit, hidden, active, sort, traffic_gb, panel_devices, "
    "backend";

const db::RowMap kPlanRow{kPlanColumns,     &Plan::id,          &Plan::code,          &Plan::title,  &Plan::days,
                          &Plan::price_rub, &Plan::price_stars, &Plan::device_limit,  &Plan::hidden, &Plan::active,
                          &Plan::sort,      &Plan::traffic_gb,  &Plan::panel_devices, &Plan::backend};

constexpr const char* kSubscriptionColumns =
    "id, user_id, plan_id, to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), "
    "greatest(0, extract(epoch FROM expires_at - now()))::bigint, expires_at > now(), device_limit, trial_only, "
    "auto_renew";

const db::RowMap kSubscriptionRow{kSubscriptionColumns,     &Subscription::id,           &Subscription::user_id,
                                  &Subscription::plan_id,   &Subscription::expires_at,   &Subscription::seconds_left,
                                  &Subscription::active,    &Subscription::device_limit, &Subscription::trial_only,
                                  &Subscription::auto_renew};

}  // namespace

std::string Plan::title_for(const std::string& language) const {
  if (title.is_object() && title.contains(language) && title[language].is_string()) return title[language];
  if (title.is_object() && title.contains("en") && title["en"].is_string()) return title["en"];
  return code;
}

awaitable<std::vector<Plan>> Plans::for_user(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kPlanColumns +
                                " FROM plans WHERE active AND (NOT hidden OR id IN ("
                                "SELECT p.unlock_plan_id FROM promo_redemptions r JOIN promo_codes p ON p.id = "
                                "r.promo_id WHERE r.user_id = $1 AND r.state = 'applied' AND p.kind = 'plan' AND "
                                "p.active)) ORDER BY sort, id",
                            user_id);
  co_return kPlanRow.read_all(r);
}

awaitable<std::optional<Plan>> Plans::get(db::Transaction& tx, int64_t plan_id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kPlanColumns + " FROM plans WHERE id = $1", plan_id);
  if (r.empty()) co_return std::nullopt;
  co_return kPlanRow.read(r, 0);
}

awaitable<std::optional<Plan>> Plans::by_code(db::Transaction& tx, const std::string& code) {
  auto r = co_await tx.exec(std::string("SELECT ") + kPlanColumns + " FROM plans WHERE code = $1", code);
  if (r.empty()) co_return std::nullopt;
  co_return kPlanRow.read(r, 0);
}

awaitable<std::vector<Plan>> Plans::all(db::Transaction& tx) {
  auto r = co_await tx.exec(std::string("SELECT ") + kPlanColumns + " FROM plans ORDER BY sort, id");
  co_return kPlanRow.read_all(r);
}

awaitable<Plan> Plans::create(db::Transaction& tx, const NewPlan& p) {
  auto r = co_await tx.exec(std::string("INSERT INTO plans (code, title, days, price_rub, price_stars, device_limit, "
                                        "hidden, sort) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ") +
                                kPlanColumns,
                            p.code, p.title, p.days, p.price_rub, p.price_stars, p.device_limit, p.hidden, p.sort);
  co_return kPlanRow.read(r, 0);
}

awaitable<bool> Plans::set_field(db::Transaction& tx, const std::string& code, const std::string& field,
                                 const std::string& value) {
  static const std::set<std::string> numeric{"price_rub", "price_stars", "days", "device_limit", "sort"};
  std::string sql;
  if (numeric.count(field))
    sql = "UPDATE plans SET " + field + " = $2::bigint WHERE code = $1";
  else if (field == "traffic_gb" || field == "panel_devices")  // "unlimited" / "plan" clear them
    sql = "UPDATE plans SET " + field +
          " = NULLIF(regexp_replace($2, '^(unlimited|plan)$', ''), '')::integer "
          "WHERE code = $1";
  else if (field == "backend")
    sql = "UPDATE plans SET backend = $2 WHERE code = $1";
  else if (field == "hidden" || field == "active")
    sql = "UPDATE plans SET " + field + " = $2::boolean WHERE code = $1";
  else if (field == "title_en" || field == "title_ru")
    sql = "UPDATE plans SET title = jsonb_set(title, '{" + field.substr(6) + "}', to_jsonb($2::text)) WHERE code = $1";
  else
    throw std::invalid_argument("unknown plan field '" + field +
                                "' (price_rub, price_stars, days, device_limit, traffic_gb, panel_devices, backend, "
                                "hidden, active, sort, title_en, "
                                "title_ru)");
  co_return co_await tx.changed(sql, code, value);
}

awaitable<std::optional<Subscription>> Subscriptions::get(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kSubscriptionColumns + " FROM subscriptions WHERE user_id = $1",
                            user_id);
  if (r.empty()) co_return std::nullopt;
  co_return kSubscriptionRow.read(r, 0);
}

awaitable<Subscription> Subscriptions::extend(db::Transaction& tx, int64_t user_id, int days, int device_limit,
                                              std::optional<int64_t> plan_id, bool trial) {
  auto r = co_await tx.exec(std::string(R"sql(
INSERT INTO subscriptions AS s (user_id, plan_id, expires_at, device_limit, trial_only)
VALUES ($1, $2, now() + make_interval(days => $3), $4, $5)
ON CONFLICT (user_id) DO UPDATE SET
  expires_at = greatest(now(), s.expires_at) + make_interval(days => $3),
  device_limit = CASE WHEN s.expires_at > now() THEN greatest(s.device_limit, EXCLUDED.device_limit)
                      ELSE EXCLUDED.device_limit END,
  plan_id = coalesce(EXCLUDED.plan_id, s.plan_id),
  trial_only = s.trial_only AND EXCLUDED.trial_only,
  deactivated = false,
  updated_at = now()
RETURNING )sql") + kSubscriptionColumns,
                            user_id, plan_id, days, device_limit, trial);
  co_return kSubscriptionRow.read(r, 0);
}

awaitable<std::optional<Subscription>> Subscriptions::shorten(db::Transaction& tx, int64_t user_id, int days) {
  auto r = co_await tx.exec(std::string("UPDATE subscriptions SET expires_at = expires_at - make_interval(days => $2), "
                                        "updated_at = now() WHERE user_id = $1 RETURNING ") +
                                kSubscriptionColumns,
                            user_id, days);
  if (r.empty()) co_return std::nullopt;
  co_return kSubscriptionRow.read(r, 0);
}

awaitable<std::vector<int64_t>> Subscriptions::deactivate_expired(db::Transaction& tx, Millis grace, int limit,
                                                                  std::optional<int64_t> now_ms) {
  auto r = co_await tx.exec(R"sql(
WITH due AS (
  SELECT id FROM subscriptions
  WHERE NOT deactivated AND expires_at < coalesce(to_timestamp($3::bigint::double precision / 1000), now())
                                         - make_interval(secs => $1::double precision / 1000)
  ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE subscriptions s SET deactivated = true FROM due WHERE s.id = due.id
RETURNING s.user_id)sql",
                            grace.count(), limit, now_ms);
  std::vector<int64_t> users;
  for (int i = 0; i < r.rows(); ++i) users.push_back(r.get<int64_t>(i, 0));
  co_return users;
}

awaitable<bool> Subscriptions::set_auto_renew(db::Transaction& tx, int64_t user_id, bool on) {
  co_return co_await tx.changed("UPDATE subscriptions SET auto_renew = $2, updated_at = now() WHERE user_id = $1",
                                user_id, on);
}

awaitable<bool> Subscriptions::trial_available(db::Transaction& tx, int64_t user_id) {
  co_return co_await tx.value<bool>(
      "SELECT NOT EXISTS (SELECT 1 FROM trials WHERE user_id = $1) "
      "AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE user_id = $1)",
      user_id);
}

awaitable<std::optional<Subscription>> Subscriptions::grant_trial(db::Transaction& tx, int64_t user_id, int days,
                                                                  int device_limit) {
  if (!co_await trial_available(tx, user_id)) co_return std::nullopt;
  // The primary key of trials is the once-ever guarantee, even against two concurrent requests.
  auto r = co_await tx.exec("INSERT INTO trials (user_id, days) VALUES ($1, $2) ON CONFLICT DO NOTHING", user_id, days);
  if (r.affected() == 0) co_return std::nullopt;
  co_return co_await extend(tx, user_id, days, device_limit, std::nullopt, true);
}

}  // namespace vpnbot::billing
