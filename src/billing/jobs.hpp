#pragma once
#include <functional>

#include "billing/orders.hpp"
#include "billing/provider.hpp"
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"

namespace vpnbot::billing {

// What the user is told about an order; the bot layer renders it in the user's language (into the outbox, inside
// the job's transaction, so the message exists exactly when the effect does).
struct BillingNotifier {
  std::function<awaitable<void>(db::Transaction&, const Order&)> payment_link;
  std::function<awaitable<void>(db::Transaction&, const Order&, const std::string& reason)> payment_failed;
  std::function<awaitable<void>(db::Transaction&, const Order&)> receipt;
  std::function<awaitable<void>(db::Transaction&, const Order&)> refunded;
  // An auto-renewal charge to a saved card did not go through (declined, card removed): the bot falls back to the
  // balance or tells the user what is missing. Called once per such order, in the transaction that closed it.
  std::function<awaitable<void>(db::Transaction&, const Order&, const std::string& reason)> renewal_declined;
};

struct BillingJobDeps {
  const BillingOptions* options = nullptr;
  const PaymentProviders* providers = nullptr;  // null: no provider calls on this worker
  BillingNotifier notifier;
};

// Job kinds of the billing domain:
//   billing.create_payment  {order_id}  asks the provider for a payment/invoice and sends the link
//   billing.payment_event   {event_id}  applies one stored provider notification (exactly once in effect)
//   billing.receipt         {order_id}  tells the user the order is paid
//   billing.charge_saved_method {order_id}  charges an auto-renewal order to the user's saved card
//   billing.refund_stars    {order_id, note}  refundStarPayment, then the reversal
//   billing.expire_orders   closes abandoned orders (periodic)
//   billing.deactivate_expired  switches off the configs of subscriptions expired past the grace (periodic)
void register_job_handlers(jobs::Worker& worker, BillingJobDeps deps);
std::vector<jobs::PeriodicTask> periodic_tasks();

// Enqueues the creation of the provider payment for a new order (inside the caller's transaction).
awaitable<void> enqueue_create_payment(db::Transaction& tx, int64_t order_id);
awaitable<bool> enqueue_stars_refund(db::Transaction& tx, int64_t order_id, const std::string& note);

}  // namespace vpnbot::billing
