#include "billing/webhooks.hpp"

#include "core/log.hpp"
#include "jobs/queue.hpp"

namespace vpnbot::billing {
namespace {

using nlohmann::json;

// Counts a rejected notification and keeps a bounded sample of them (table and log): an anonymous flood costs
// no storage beyond a few rows per provider and reason each minute (housekeeping keeps the newest few thousand).
awaitable<void> record_rejection(db::Pool& pool, PaymentWebhookStats& stats, const std::string& provider,
                                 const std::string& result, const std::string& reason, const std::string& source_ip,
                                 const std::string& body) {
  stats.add(provider, result);
  std::string kind = provider + ":" + result;
  if (!stats.kept_rejections.admit(kind, Clock::now())) co_return;
  log::warn("billing", "payment webhook rejected",
            {{"provider", provider},
             {"reason", reason},
             {"ip", source_ip},
             {"similar_not_logged", stats.kept_rejections.take_suppressed(kind)}});
  // A failure to store it must not turn the answer into a 500 retry loop.
  std::string error;
  try {
    co_await pool.exec("INSERT INTO payment_rejections (provider, reason, source_ip, body) VALUES ($1, $2, $3, $4)",
                       provider, reason.substr(0, 200), source_ip, body.substr(0, 2048));
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) log::error("billing", "could not store a webhook rejection", {{"error", error}});
}

http::Response answer(http::bhttp::status status, const char* text) {
  return http::json_response(status, {{"status", text}});
}

}  // namespace

awaitable<bool> store_payment_event(db::Transaction& tx, const std::string& provider, const std::string& external_id,
                                    const std::string& event, const json& payload, const std::string& source_ip) {
  auto r = co_await tx.exec(
      "INSERT INTO payment_events (provider, external_id, event, payload, source_ip) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (provider, external_id, event) DO NOTHING RETURNING id",
      provider, external_id, event, payload, source_ip);
  if (r.empty()) co_return false;
  int64_t id = r.get<int64_t>(0, 0);
  jobs::NewJob job;
  job.kind = kPaymentEventJob;
  job.payload = {{"event_id", id}};
  job.unique_key = "payment-event:" + std::to_string(id);
  job.max_attempts = 20;  // ~a day of backoff: covers a provider outage and out-of-order refunds
  job.priority = 10;
  co_await jobs::Queue::enqueue(tx, job);
  co_return true;
}

awaitable<bool> store_payment_event(db::Pool& pool, const std::string& provider, const std::string& external_id,
                                    const std::string& event, const json& payload, const std::string& source_ip) {
  co_return co_await pool.transaction([&](db::Transaction& tx) -> awaitable<bool> {
    co_return co_await store_payment_event(tx, provider, external_id, event, payload, source_ip);
  });
}

void add_payment_webhook_routes(http::Router& router, db::Pool& pool, const PaymentProviders& providers,
                                std::vector<IpNetwork> trusted_proxies_in, PaymentWebhookStats& stats) {
  auto trusted_proxies = std::make_shared<const std::vector<IpNetwork>>(std::move(trusted_proxies_in));
  for (PaymentProvider* provider : providers.configured()) {
    if (provider->webhook_path().empty()) continue;
    router.add(
        http::bhttp::verb::post, provider->webhook_path(),
        [&pool, &stats, provider, trusted_proxies](http::Request& request) -> awaitable<http::Response> {
          const std::string name = provider->name();
          std::string ip = client_address(request.remote_ip, request.header_list("X-Forwarded-For"), *trusted_proxies);
          NoticeCheck check = RefusedNotice{http::bhttp::status::payload_too_large, "too_large",
                                            "body over " + std::to_string(kMaxNotificationBytes) + " bytes"};
          if (request.message.body().size() <= kMaxNotificationBytes) check = provider->accept(ip, request);
          if (auto* refused = std::get_if<RefusedNotice>(&check)) {
            co_await record_rejection(pool, stats, name, refused->result, refused->reason, ip, request.message.body());
            co_return answer(refused->status,
                             refused->status == http::bhttp::status::forbidden ? "forbidden" : "rejected");
          }
          auto& notice = std::get<AcceptedNotice>(check);
          bool fresh = co_await store_payment_event(pool, name, notice.external_id, notice.event, notice.payload, ip);
          stats.add(name, fresh ? "accepted" : "duplicate");
          co_return answer(http::bhttp::status::ok, "ok");
        });
  }
}

}  // namespace vpnbot::billing
