#include "billing/saved_methods.hpp"

#include "jobs/queue.hpp"

namespace vpnbot::billing {

awaitable<std::optional<SavedMethod>> SavedMethods::get(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec("SELECT provider, method_id, title FROM saved_payment_methods WHERE user_id = $1", user_id);
  if (r.empty()) co_return std::nullopt;
  co_return SavedMethod{user_id, r.get<std::string>(0, 0), r.get<std::string>(0, 1), r.get<std::string>(0, 2)};
}

awaitable<void> SavedMethods::consent_at_checkout(db::Transaction& tx, int64_t order_id) {
  co_await tx.exec("UPDATE orders SET save_method = true WHERE id = $1 AND state = 'pending'", order_id);
}

awaitable<void> SavedMethods::remember(db::Transaction& tx, int64_t order_id, const SavedMethod& method) {
  co_await tx.exec(R"sql(
INSERT INTO saved_payment_methods (user_id, provider, method_id, title, saved_by_order) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id) DO UPDATE SET provider = EXCLUDED.provider, method_id = EXCLUDED.method_id,
  title = EXCLUDED.title, saved_by_order = EXCLUDED.saved_by_order, created_at = now())sql",
                   method.user_id, method.provider, method.method_id, method.title.substr(0, 64), order_id);
  co_await tx.exec(
      "UPDATE subscriptions SET auto_renew = true, updated_at = now() WHERE user_id = $1 AND NOT auto_renew",
      method.user_id);
}

awaitable<bool> SavedMethods::forget(db::Transaction& tx, int64_t user_id) {
  co_return co_await tx.changed("DELETE FROM saved_payment_methods WHERE user_id = $1", user_id);
}

awaitable<void> SavedMethods::forget_method(db::Transaction& tx, const std::string& provider,
                                            const std::string& method_id) {
  co_await tx.exec("DELETE FROM saved_payment_methods WHERE provider = $1 AND method_id = $2", provider, method_id);
}

awaitable<std::optional<Order>> SavedMethods::create_renewal(db::Transaction& tx, const SavedMethod& method,
                                                             int64_t plan_id, const BillingOptions& options) {
  // The caller holds the subscription row (its per-expiry claim); the unique index is the last line behind it.
  auto claimed = co_await tx.exec(
      "SELECT 1 FROM orders o JOIN subscriptions s ON s.user_id = o.user_id WHERE o.user_id = $1 "
      "AND o.renewal_for = s.expires_at",
      method.user_id);
  if (!claimed.empty()) co_return std::nullopt;
  auto order = co_await Orders::create(tx, method.user_id, plan_id, method.provider, options);
  co_await tx.exec(
      "UPDATE orders SET payment_method_id = $2, "
      "renewal_for = (SELECT expires_at FROM subscriptions WHERE user_id = orders.user_id) WHERE id = $1",
      order.id, method.method_id);
  order.payment_method_id = method.method_id;
  jobs::NewJob job;
  job.kind = "billing.charge_saved_method";
  job.payload = {{"order_id", order.id}};
  job.unique_key = "order:" + std::to_string(order.id);
  job.max_attempts = 12;  // ~hours of backoff: a provider outage or a payment pending on its receipt
  job.priority = 10;
  co_await jobs::Queue::enqueue(tx, job);
  co_return order;
}

awaitable<std::optional<ChargeObstacle>> SavedMethods::obstacle_to_charge(db::Transaction& tx, const Order& order) {
  std::optional<ChargeObstacle> obstacle;
  if (order.state != "pending") {
    obstacle = ChargeObstacle{"the order is " + order.state, false};
    co_return obstacle;
  }
  auto r = co_await tx.exec(R"sql(
SELECT m.method_id IS NOT DISTINCT FROM o.payment_method_id, coalesce(s.auto_renew, false),
       s.expires_at IS NOT DISTINCT FROM o.renewal_for
FROM orders o LEFT JOIN saved_payment_methods m ON m.user_id = o.user_id
LEFT JOIN subscriptions s ON s.user_id = o.user_id WHERE o.id = $1)sql",
                            order.id);
  if (r.empty())
    obstacle = ChargeObstacle{"the order is gone", false};
  else if (!r.get<bool>(0, 1))
    obstacle = ChargeObstacle{"auto-renewal was switched off", false};
  else if (!r.get<bool>(0, 2))
    obstacle = ChargeObstacle{"the subscription was renewed meanwhile", false};
  else if (!r.get<bool>(0, 0))
    obstacle = ChargeObstacle{"the card was removed", true};
  co_return obstacle;
}

}  // namespace vpnbot::billing
