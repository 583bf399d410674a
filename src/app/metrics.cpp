#include "app/metrics.hpp"

#include "core/log.hpp"

#include <prometheus/text_serializer.h>

namespace vpnbot::app {
namespace {

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& registry, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry);
}

// One gauge per row and value column of `rows`: a row's first columns are the values of `labels`; from column
// `first_value` on, each column is labelled `value_label` = its name in `value_names` (or is the row's only value
// when value_names is empty).
void set_from_rows(prometheus::Family<prometheus::Gauge>& family, const db::Result& rows,
                   const std::vector<std::string>& labels, int first_value, const std::string& value_label = "",
                   const std::vector<std::string>& value_names = {}) {
  for (int i = 0; i < rows.rows(); ++i) {
    prometheus::Labels row_labels;
    for (size_t l = 0; l < labels.size(); ++l) row_labels[labels[l]] = rows.get<std::string>(i, static_cast<int>(l));
    if (value_names.empty()) {
      family.Add(row_labels).Set(rows.get<double>(i, first_value));
      continue;
    }
    for (size_t v = 0; v < value_names.size(); ++v) {
      auto labelled = row_labels;
      labelled[value_label] = value_names[v];
      family.Add(labelled).Set(rows.get<double>(i, first_value + static_cast<int>(v)));
    }
  }
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      requests_(prometheus::BuildCounter()
                    .Name("vpnbot_http_requests_total")
                    .Help("HTTP requests answered, by route and status")
                    .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("vpnbot_http_request_duration_seconds")
                   .Help("Time to answer an HTTP request, by route")
                   .Register(*registry_)),
      pool_(gauge(*registry_, "vpnbot_db_pool",
                  "PostgreSQL pool of this process: open, in_use, idle, waiting, acquired_total, timeouts_total")),
      jobs_(gauge(*registry_, "vpnbot_jobs",
                  "Job queue by kind and state (due, running, dead), and the oldest due job's age in seconds")),
      outbox_(gauge(*registry_, "vpnbot_outbox_messages",
                    "Outbound Telegram messages by state (sent, blocked = 403, failed, ambiguous, pending)")),
      inbox_(gauge(*registry_, "vpnbot_telegram_updates", "Telegram updates by state in the inbox")),
      ingest_(gauge(*registry_, "vpnbot_webhook_updates_total",
                    "Webhook deliveries seen by this gateway: stored, duplicate, malformed, rejected_secret")),
      vpn_pool_(gauge(*registry_, "vpnbot_vpn_pool_fill_ratio", "Share of a node's tunnel addresses in use")),
      agent_(gauge(*registry_, "vpnbot_wg_agent",
                   "Per node: peers applied, drift of the last full reconcile, seconds since it ran")),
      payment_webhooks_(gauge(*registry_, "vpnbot_payment_webhooks_total",
                              "Payment provider webhooks seen by this gateway by provider and result (accepted, "
                              "duplicate, foreign_ip, bad_sign, malformed)")),
      orders_(gauge(*registry_, "vpnbot_orders",
                    "Orders by provider and state (paid, pending, expired, canceled, refunded, mismatch)")),
      sender_(gauge(*registry_, "vpnbot_telegram_sender_total",
                    "Bot API calls by this process's sender: sent, rate_limited (429), blocked (403), failed, "
                    "retried, ambiguous, recovered")),
      process_(gauge(*registry_, "vpnbot_process",
                     "This process: log lines dropped by a slow stdout reader, public connections open, "
                     "evicted (idle longest, to make room) and refused (all busy)")) {}

void Metrics::observe_request(const std::string& route, int status, double seconds) {
  requests_.Add({{"route", route}, {"status", std::to_string(status)}}).Increment();
  static const prometheus::Histogram::BucketBoundaries buckets{0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                               0.025,  0.05,  0.1,    0.25,  1};
  latency_.Add({{"route", route}}, buckets).Observe(seconds);
}

awaitable<std::string> Metrics::scrape(db::Pool& pool, const telegram::IngestStats* ingest,
                                       const billing::PaymentWebhookStats* payments) {
  auto s = pool.stats();
  pool_.Add({{"kind", "open"}}).Set(s.open);
  pool_.Add({{"kind", "in_use"}}).Set(s.in_use);
  pool_.Add({{"kind", "idle"}}).Set(s.idle);
  pool_.Add({{"kind", "waiting"}}).Set(s.waiting);
  pool_.Add({{"kind", "acquired_total"}}).Set(static_cast<double>(s.acquired_total));
  pool_.Add({{"kind", "timeouts_total"}}).Set(static_cast<double>(s.timeouts_total));
  pool_.Add({{"kind", "acquire_wait_seconds_total"}}).Set(s.acquire_wait_seconds_total);
  if (ingest) {
    ingest_.Add({{"result", "stored"}}).Set(static_cast<double>(ingest->stored));
    ingest_.Add({{"result", "duplicate"}}).Set(static_cast<double>(ingest->duplicates));
    ingest_.Add({{"result", "malformed"}}).Set(static_cast<double>(ingest->malformed));
    ingest_.Add({{"result", "rejected_secret"}}).Set(static_cast<double>(ingest->rejected_secret));
  }
  if (sender_stats_) {
    const auto& st = *sender_stats_;
    for (const auto& [result, n] :
         std::initializer_list<std::pair<const char*, uint64_t>>{{"sent", st.sent},
                                                                 {"rate_limited", st.rate_limited},
                                                                 {"blocked", st.blocked},
                                                                 {"failed", st.failed},
                                                                 {"retried", st.retried},
                                                                 {"ambiguous", st.ambiguous},
                                                                 {"recovered", st.recovered}})
      sender_.Add({{"result", result}}).Set(static_cast<double>(n));
  }
  process_.Add({{"kind", "log_dropped_lines"}}).Set(static_cast<double>(log::dropped_lines()));
  if (server_stats_) {
    process_.Add({{"kind", "connections_open"}}).Set(server_stats_->open_connections);
    process_.Add({{"kind", "connections_evicted"}}).Set(static_cast<double>(server_stats_->evicted));
    process_.Add({{"kind", "connections_refused"}}).Set(static_cast<double>(server_stats_->refused));
  }
  if (payments)
    for (const auto& [key, n] : payments->counts)
      payment_webhooks_.Add({{"provider", key.first}, {"result", key.second}}).Set(static_cast<double>(n));
  auto orders = co_await pool.query("SELECT provider, state, count(*) FROM orders GROUP BY provider, state");
  set_from_rows(orders_, orders, {"provider", "state"}, 2);
  auto jobs = co_await pool.query(
      "SELECT kind, count(*) FILTER (WHERE state = 'pending' AND run_at <= now()), "
      "count(*) FILTER (WHERE state = 'running'), count(*) FILTER (WHERE state = 'dead'), "
      "coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'pending' AND run_at <= now())), 0) "
      "FROM jobs WHERE state IN ('pending', 'running', 'dead') GROUP BY kind");
  set_from_rows(jobs_, jobs, {"kind"}, 1, "state", {"due", "running", "dead", "oldest_due_seconds"});
  auto outbox = co_await pool.query("SELECT state, count(*) FROM outbox GROUP BY state");
  set_from_rows(outbox_, outbox, {"state"}, 1);
  auto inbox = co_await pool.query("SELECT state, count(*) FROM tg_inbox GROUP BY state");
  set_from_rows(inbox_, inbox, {"state"}, 1);
  auto nodes = co_await pool.query(
      "SELECT n.name, 1 - (SELECT count(*) FROM vpn_free_addresses f WHERE f.node_id = n.id)::float / "
      "greatest((2::bigint ^ (32 - masklen(n.subnet_v4)))::bigint - 3, 1), coalesce(a.peers, 0), coalesce(a.drift, 0), "
      "coalesce(extract(epoch FROM now() - a.last_reconcile), -1) "
      "FROM vpn_nodes n LEFT JOIN vpn_agent_status a ON a.node_id = n.id");
  set_from_rows(vpn_pool_, nodes, {"node"}, 1);
  set_from_rows(agent_, nodes, {"node"}, 2, "kind", {"peers", "drift", "seconds_since_reconcile"});
  co_return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void Metrics::add_route(http::Router& router, db::Pool& pool, const telegram::IngestStats* ingest,
                        const billing::PaymentWebhookStats* payments) {
  router.add(http::bhttp::verb::get, "/metrics",
             [this, &pool, ingest, payments](http::Request&) -> awaitable<http::Response> {
               std::string failure;
               std::string text;
               try {
                 text = co_await scrape(pool, ingest, payments);
               } catch (const std::exception& e) {
                 failure = e.what();
               }
               if (!failure.empty())
                 co_return http::json_response(http::bhttp::status::service_unavailable, {{"error", failure}});
               co_return http::make_response(http::bhttp::status::ok, std::move(text), "text/plain; version=0.0.4");
             });
}

}  // namespace vpnbot::app
