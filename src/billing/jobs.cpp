#include "billing/jobs.hpp"

#include "billing/saved_methods.hpp"
#include "billing/webhooks.hpp"
#include "core/log.hpp"
#include "http/client.hpp"
#include "jobs/queue.hpp"
#include "vpn/store.hpp"

namespace vpnbot::billing {
namespace {

using nlohmann::json;

int64_t id_field(const json& payload, const char* key) {
  if (!payload.contains(key) || !payload[key].is_number_integer())
    throw jobs::PermanentJobError(std::string("payload needs an integer ") + key);
  return payload[key].get<int64_t>();
}

awaitable<StoredEvent> load_event(db::Pool& pool, int64_t id) {
  auto r = co_await pool.exec(
      "SELECT id, provider, external_id, event, payload, processed_at IS NOT NULL FROM payment_events WHERE id = $1",
      id);
  if (r.empty()) throw jobs::PermanentJobError("payment event " + std::to_string(id) + " does not exist");
  co_return StoredEvent{r.get<int64_t>(0, 0),     r.get<std::string>(0, 1), r.get<std::string>(0, 2),
                        r.get<std::string>(0, 3), r.get<json>(0, 4),        r.get<bool>(0, 5)};
}

awaitable<void> mark_event(db::Transaction& tx, int64_t event_id, const std::string& outcome) {
  co_await tx.exec("UPDATE payment_events SET processed_at = now(), outcome = $2 WHERE id = $1", event_id, outcome);
}

// Closes a pending order; for an auto-renewal (charged to a saved card) the bot then falls back to the balance,
// otherwise the user is told the payment failed. False when the order was not pending (a replay: nothing more).
awaitable<bool> close_unpaid(db::Transaction& tx, const BillingNotifier& notifier, int64_t order_id,
                             const std::string& why, bool fall_back) {
  bool closed = co_await Orders::close(tx, order_id, "canceled", why);
  if (!closed) co_return false;
  auto order = co_await Orders::get(tx, order_id);
  if (!order) co_return true;
  if (order->payment_method_id) {
    log::info("billing", "auto-renewal charge not made", {{"order_id", order_id}, {"reason", why}});
    if (fall_back && notifier.renewal_declined) co_await notifier.renewal_declined(tx, *order, why);
  } else if (notifier.payment_failed) {
    co_await notifier.payment_failed(tx, *order, why);
  }
  co_return true;
}

// A refund notice that overtook its payment notice: retried with backoff until the payment is applied.
class NotYetPaid : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

class EventProcessor {
 public:
  EventProcessor(jobs::JobContext& ctx, BillingJobDeps& deps) : ctx_(ctx), deps_(deps) {}

  awaitable<void> run(const StoredEvent& event) {
    if (event.processed) {
      co_await finish(event.id, "");  // a retry after the effect committed but the job did not
      co_return;
    }
    PaymentProvider* provider = deps_.providers ? deps_.providers->find(event.provider) : nullptr;
    if (!provider) throw jobs::PermanentJobError("unknown provider " + event.provider);
    // Not configured on this worker (yet): retried, so a notice that arrives before the credentials is not lost.
    if (!provider->configured()) throw std::runtime_error(event.provider + " is not configured on this worker");
    std::string refused;
    try {
      auto verdict = co_await provider->verify(event);
      co_await apply_verdict(event, std::move(verdict));
    } catch (const ProviderError& e) {
      // 4xx from the provider (e.g. a notification about a payment it does not know): asking again cannot help.
      if (e.retryable()) throw;
      refused = e.what();
    }
    if (!refused.empty()) {
      log::warn("billing", "payment event refers to nothing the provider confirms",
                {{"event_id", event.id}, {"error", refused}});
      co_await finish(event.id, "provider refused: " + refused);
    }
  }

 private:
  // Marks the event and completes the job in one transaction (with `effect` before it, if any).
  template <typename Effect>
  awaitable<void> apply(int64_t event_id, Effect effect) {
    co_await ctx_.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      std::string outcome = co_await effect(tx);
      co_await mark_event(tx, event_id, outcome);
      co_await ctx_.complete_in(tx);
    });
  }
  awaitable<void> finish(int64_t event_id, std::string outcome) {
    co_await apply(event_id, [&](db::Transaction&) -> awaitable<std::string> { co_return outcome; });
  }

  // Parameters by value: these coroutines start after the caller's temporaries are gone.
  awaitable<std::string> grant(db::Transaction& tx, std::string provider, Verdict verdict) {
    auto result = co_await Orders::apply_payment(tx, *verdict.order_id, provider, verdict.payment_id, verdict.amount,
                                                 verdict.currency, verdict.allow_overpay, *deps_.options);
    if (result == PaymentResult::applied && !verdict.saved_method_id.empty()) {
      auto order = co_await Orders::get(tx, *verdict.order_id);
      // Saved only with the user's consent, given at this order's checkout.
      if (order && order->save_method) {
        SavedMethod method{order->user_id, provider, verdict.saved_method_id, verdict.saved_method_title};
        co_await SavedMethods::remember(tx, order->id, method);
        log::info("billing", "card saved for auto-renewal", {{"user_id", order->user_id}, {"order_id", order->id}});
      }
    }
    co_return std::string("payment ") + to_string(result);
  }

  awaitable<std::string> cancel(db::Transaction& tx, std::string provider, Verdict verdict) {
    if (verdict.saved_method_unusable) {
      auto order = co_await Orders::get(tx, *verdict.order_id);
      if (order && order->payment_method_id)
        co_await SavedMethods::forget_method(tx, provider, *order->payment_method_id);
    }
    bool closed = co_await close_unpaid(tx, deps_.notifier, *verdict.order_id, verdict.note, true);
    co_return closed ? "order canceled" : "order not pending";
  }

  awaitable<std::string> refund(db::Transaction& tx, int64_t order_id, int64_t amount, std::string why) {
    auto order = co_await Orders::get(tx, order_id);
    if (!order) co_return "refund for an unknown order";
    if (order->state == "refunded") co_return "already refunded";
    if (order->state != "paid" && order->state != "credited")
      throw NotYetPaid("refund of order " + std::to_string(order_id) + " before its payment");
    if (amount != order->amount) {
      log::error("billing", "partial refund: access kept, flagged for an admin",
                 {{"order_id", order_id}, {"refunded", amount}, {"paid", order->amount}});
      co_await tx.exec("UPDATE orders SET note = $2 WHERE id = $1", order_id,
                       "partial refund of " + std::to_string(amount) + " (" + why + ")");
      co_return "partial refund flagged";
    }
    co_await Orders::refund(tx, order_id, why);
    if (deps_.notifier.refunded) {
      auto after = co_await Orders::get(tx, order_id);
      co_await deps_.notifier.refunded(tx, *after);
    }
    co_return "refunded";
  }

  // The one way any provider's confirmed notice changes an order.
  awaitable<void> apply_verdict(const StoredEvent& event, Verdict verdict) {
    using Kind = Verdict::Kind;
    switch (verdict.kind) {
      case Kind::paid:
        co_await apply(event.id, [&](db::Transaction& tx) { return grant(tx, event.provider, verdict); });
        co_return;
      case Kind::canceled:
        co_await apply(event.id, [&](db::Transaction& tx) { return cancel(tx, event.provider, verdict); });
        co_return;
      case Kind::refunded:
        co_await apply(event.id, [&](db::Transaction& tx) -> awaitable<std::string> {
          std::optional<int64_t> order_id = verdict.order_id;
          if (!order_id) {
            auto order = co_await Orders::by_provider_payment(tx, event.provider, verdict.payment_id);
            if (!order) co_return std::string("refund for an unknown payment");
            order_id = order->id;
          }
          co_return co_await refund(tx, *order_id, verdict.amount, verdict.note);
        });
        co_return;
      case Kind::pending:
        throw std::runtime_error(verdict.note);  // retried with backoff until the provider's record agrees
      case Kind::ignored:
        co_await finish(event.id, verdict.note);
        co_return;
    }
  }

  jobs::JobContext& ctx_;
  BillingJobDeps& deps_;
};

}  // namespace

awaitable<void> enqueue_create_payment(db::Transaction& tx, int64_t order_id) {
  jobs::NewJob job;
  job.kind = "billing.create_payment";
  job.payload = {{"order_id", order_id}};
  job.unique_key = "order:" + std::to_string(order_id);
  job.max_attempts = 6;
  job.priority = 10;
  co_await jobs::Queue::enqueue(tx, job);
}

awaitable<bool> enqueue_stars_refund(db::Transaction& tx, int64_t order_id, const std::string& note) {
  jobs::NewJob job;
  job.kind = "billing.refund_stars";
  job.payload = {{"order_id", order_id}, {"note", note}};
  job.unique_key = "order:" + std::to_string(order_id);
  auto id = co_await jobs::Queue::enqueue(tx, job);
  co_return id.has_value();
}

void register_job_handlers(jobs::Worker& worker, BillingJobDeps deps_in) {
  auto deps = std::make_shared<BillingJobDeps>(std::move(deps_in));

  worker.on("billing.create_payment", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t order_id = id_field(ctx.job.payload, "order_id");
    auto order = co_await ctx.pool.transaction(
        [&](db::Transaction& tx) -> awaitable<std::optional<Order>> { co_return co_await Orders::get(tx, order_id); });
    if (!order || order->state != "pending") co_return;  // paid or closed meanwhile: nothing to create
    std::string payment_id, url, failure;
    try {
      PaymentProvider* provider = deps->providers ? deps->providers->find(order->provider) : nullptr;
      if (provider && provider->configured()) {
        auto created = co_await provider->create_payment(*order, ctx.job.attempt > 1);
        payment_id = created.payment_id;
        url = created.url;
      } else {
        failure = "provider " + order->provider + " is not configured";
      }
    } catch (const ProviderError& e) {
      // A refused request will not succeed on retry; an overloaded provider (or the last attempt) ends the same way
      // only when no attempts are left.
      if (e.retryable() && ctx.job.attempt < ctx.job.max_attempts) throw;
      failure = e.what();
    } catch (const http::TransportError& e) {
      if (ctx.job.attempt < ctx.job.max_attempts) throw;
      failure = e.what();
    }
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      if (failure.empty()) {
        co_await Orders::set_provider_payment(tx, order->id, payment_id, url);
        auto updated = co_await Orders::get(tx, order->id);
        if (deps->notifier.payment_link) co_await deps->notifier.payment_link(tx, *updated);
      } else {
        log::error("billing", "could not create a payment", {{"order_id", order->id}, {"error", failure}});
        co_await close_unpaid(tx, deps->notifier, order->id, failure, false);
      }
      co_await ctx.complete_in(tx);
    });
  });

  worker.on(kPaymentEventJob, [deps](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t event_id = id_field(ctx.job.payload, "event_id");
    auto event = co_await load_event(ctx.pool, event_id);
    EventProcessor processor(ctx, *deps);
    co_await processor.run(event);
  });

  worker.on("billing.receipt", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t order_id = id_field(ctx.job.payload, "order_id");
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      auto order = co_await Orders::claim_receipt(tx, order_id);
      if (order && deps->notifier.receipt) co_await deps->notifier.receipt(tx, *order);
      co_await ctx.complete_in(tx);
    });
  });

  worker.on("billing.charge_saved_method", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t order_id = id_field(ctx.job.payload, "order_id");
    auto order = co_await ctx.pool.transaction(
        [&](db::Transaction& tx) -> awaitable<std::optional<Order>> { co_return co_await Orders::get(tx, order_id); });
    if (!order || !order->payment_method_id)
      throw jobs::PermanentJobError("order " + std::to_string(order_id) + " is not an auto-renewal");
    // Once a charge was made (its id is known) it is followed to its end whatever happened since; before that,
    // a removed card, auto-renewal switched off or a renewal made meanwhile means no charge.
    if (!order->provider_payment_id) {
      auto obstacle =
          co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<std::optional<ChargeObstacle>> {
            auto why = co_await SavedMethods::obstacle_to_charge(tx, *order);
            if (why) {
              co_await close_unpaid(tx, deps->notifier, order->id, why->reason, why->fall_back_to_balance);
              co_await ctx.complete_in(tx);
            }
            co_return why;
          });
      if (obstacle) co_return;
    }
    PaymentProvider* provider = deps->providers ? deps->providers->find(order->provider) : nullptr;
    if (!provider || !provider->configured() || !provider->can_charge_saved_method())
      throw std::runtime_error(order->provider + " cannot charge saved methods on this worker");
    std::optional<AcceptedNotice> charged;
    std::string refused;
    try {
      charged = co_await provider->charge_saved_method(*order);
    } catch (const ProviderError& e) {
      if (e.retryable()) throw;
      refused = e.what();  // e.g. the provider no longer knows the method: it cannot be charged again
    }
    bool final_state = charged && (charged->event == "payment.succeeded" || charged->event == "payment.canceled");
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      if (!charged) {
        log::warn("billing", "saved method refused by the provider", {{"order_id", order->id}, {"error", refused}});
        co_await SavedMethods::forget_method(tx, order->provider, *order->payment_method_id);
        co_await close_unpaid(tx, deps->notifier, order->id, refused, true);
        co_await ctx.complete_in(tx);
        co_return;
      }
      co_await Orders::set_provider_payment(tx, order->id, charged->external_id, "");
      if (!final_state) co_return;  // committed with the payment id; retried below until the payment settles
      // The answer is stored as the notification it amounts to: the webhook's copy of it is then a redelivery.
      co_await store_payment_event(tx, order->provider, charged->external_id, charged->event, charged->payload, "api");
      co_await ctx.complete_in(tx);
    });
    if (charged && !final_state)
      throw std::runtime_error("auto-renewal payment " + charged->external_id + " is " + charged->event);
  });

  worker.on("billing.refund_stars", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t order_id = id_field(ctx.job.payload, "order_id");
    std::string note = ctx.job.payload.value("note", "refund by admin");
    auto order = co_await ctx.pool.transaction(
        [&](db::Transaction& tx) -> awaitable<std::optional<Order>> { co_return co_await Orders::get(tx, order_id); });
    if (!order || order->provider != "stars" || order->state != "paid" || !order->provider_payment_id)
      throw jobs::PermanentJobError("order " + std::to_string(order_id) + " is not a paid Stars order");
    PaymentProvider* stars = deps->providers ? deps->providers->find("stars") : nullptr;
    if (!stars || !stars->configured()) throw std::runtime_error("no Bot API on this worker");
    std::string refused;
    try {
      co_await stars->refund(*order);
    } catch (const ProviderError& e) {
      if (e.retryable()) throw;
      refused = e.what();
    }
    if (!refused.empty()) throw jobs::PermanentJobError(refused);
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      bool done = co_await Orders::refund(tx, order_id, note);
      if (done && deps->notifier.refunded) {
        auto after = co_await Orders::get(tx, order_id);
        co_await deps->notifier.refunded(tx, *after);
      }
      co_await ctx.complete_in(tx);
    });
  });

  worker.on("billing.deactivate_expired", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    std::optional<int64_t> at;
    if (ctx.job.payload.contains("at_ms") && ctx.job.payload["at_ms"].is_number_integer())
      at = ctx.job.payload["at_ms"].get<int64_t>();
    int64_t total = 0;
    for (;;) {
      auto n = co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
        auto users = co_await Subscriptions::deactivate_expired(tx, deps->options->expiry_grace, 200, at);
        for (int64_t user : users) co_await vpn::VpnStore::set_user_peers_state(tx, user, "active", "disabled");
        co_return static_cast<int64_t>(users.size());
      });
      total += n;
      if (n < 200) break;
    }
    if (total > 0) log::info("billing", "expired subscriptions: configs switched off", {{"subscriptions", total}});
  });

  worker.on("billing.expire_orders", [](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t total = 0;
    for (;;) {
      auto n = co_await ctx.pool.transaction(
          [&](db::Transaction& tx) -> awaitable<int64_t> { co_return co_await Orders::expire_due(tx, 500); });
      total += n;
      if (n < 500) break;
    }
    if (total > 0) log::info("billing", "abandoned orders expired", {{"count", total}});
  });
}

std::vector<jobs::PeriodicTask> periodic_tasks() {
  return {
      {"billing.expire_orders", Millis(60000), [] { return jobs::NewJob{.kind = "billing.expire_orders"}; }},
      {"billing.deactivate_expired", Millis(30000), [] { return jobs::NewJob{.kind = "billing.deactivate_expired"}; }}};
}

}  // namespace vpnbot::billing
