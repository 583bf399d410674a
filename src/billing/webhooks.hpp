#pragma once
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/ip_network.hpp"
#include "core/sampler.hpp"
#include "db/pool.hpp"
#include "http/server.hpp"

namespace vpnbot::billing {

inline constexpr const char* kYooKassaWebhookPath = "/payments/yookassa";
inline constexpr const char* kHeleketWebhookPath = "/payments/heleket";
inline constexpr const char* kPaymentEventJob = "billing.payment_event";

struct PaymentWebhookOptions {
  bool yookassa = false;
  bool heleket = false;
  std::vector<IpNetwork> yookassa_networks;  // notifications are unsigned: the source address is the check
  std::vector<IpNetwork> heleket_networks;   // optional extra check (empty: any source; the sign decides)
  std::vector<IpNetwork> trusted_proxies;    // X-Forwarded-For is believed only from these
  std::string heleket_api_key;
};

// Counters for /metrics: accepted events and rejections by provider and reason. Rejections are counted, not
// stored: only a few per provider and reason each minute are kept (table and log) for diagnosis.
struct PaymentWebhookStats {
  std::map<std::pair<std::string, std::string>, uint64_t> counts;  // (provider, result) -> n; one thread
  Sampler kept_rejections{5};
  void add(const std::string& provider, const std::string& result) { ++counts[{provider, result}]; }
};

// The payment provider webhooks: check the source (and signature), store the event once (unique by provider,
// payment id and event), enqueue its processing in the same transaction, and answer 200 in milliseconds. Nothing
// is granted here: a worker applies the event (after asking YooKassa for the payment's real state).
void add_payment_webhook_routes(http::Router& router, db::Pool& pool, PaymentWebhookOptions options,
                                PaymentWebhookStats& stats);

// Stores one event and its processing job; false when the event was already stored (a redelivery).
awaitable<bool> store_payment_event(db::Pool& pool, const std::string& provider, const std::string& external_id,
                                    const std::string& event, const nlohmann::json& payload,
                                    const std::string& source_ip);

}  // namespace vpnbot::billing
