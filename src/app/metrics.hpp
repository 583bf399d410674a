#pragma once
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>

#include "billing/webhooks.hpp"
#include "db/pool.hpp"
#include "http/server.hpp"
#include "telegram/ingest.hpp"
#include "telegram/outbox.hpp"

namespace vpnbot::app {

// Prometheus metrics of one process, served at GET /metrics by the gateway. Request counters are updated as
// requests finish; everything read from the database (queues, outbox, pools, agents) is gauged at scrape time
// with a few aggregate queries over indexed columns, so an idle process does no work for metrics.
class Metrics {
 public:
  Metrics();
  void observe_request(const std::string& route, int status, double seconds);
  // The Telegram sender of this process (when it runs one): sent, 429, 403, failed, retried, ambiguous.
  void set_sender_stats(const telegram::SenderStats* stats) { sender_stats_ = stats; }
  // The public listener of this process (when it has one): open, evicted and refused connections.
  void set_server_stats(const http::ServerStats* stats) { server_stats_ = stats; }
  // Registers GET /metrics; `ingest` may be null when this process does not ingest Telegram updates.
  void add_route(http::Router& router, db::Pool& pool, const telegram::IngestStats* ingest,
                 const billing::PaymentWebhookStats* payments = nullptr);
  awaitable<std::string> scrape(db::Pool& pool, const telegram::IngestStats* ingest,
                                const billing::PaymentWebhookStats* payments = nullptr);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Gauge>& pool_;
  prometheus::Family<prometheus::Gauge>& jobs_;
  prometheus::Family<prometheus::Gauge>& outbox_;
  prometheus::Family<prometheus::Gauge>& inbox_;
  prometheus::Family<prometheus::Gauge>& ingest_;
  prometheus::Family<prometheus::Gauge>& vpn_pool_;
  prometheus::Family<prometheus::Gauge>& agent_;
  prometheus::Family<prometheus::Gauge>& payment_webhooks_;
  prometheus::Family<prometheus::Gauge>& orders_;
  prometheus::Family<prometheus::Gauge>& sender_;
  prometheus::Family<prometheus::Gauge>& process_;
  const telegram::SenderStats* sender_stats_ = nullptr;
  const http::ServerStats* server_stats_ = nullptr;
};

}  // namespace vpnbot::app
