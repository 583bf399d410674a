#pragma once
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "billing/provider.hpp"
#include "core/ip_network.hpp"
#include "core/sampler.hpp"
#include "db/pool.hpp"
#include "http/server.hpp"

namespace vpnbot::billing {

inline constexpr const char* kPaymentEventJob = "billing.payment_event";

// Counters for /metrics: accepted events and rejections by provider and reason. Rejections are counted, not
// stored: only a few per provider and reason each minute are kept (table and log) for diagnosis.
struct PaymentWebhookStats {
  std::map<std::pair<std::string, std::string>, uint64_t> counts;  // (provider, result) -> n; one thread
  Sampler kept_rejections{5};
  void add(const std::string& provider, const std::string& result) { ++counts[{provider, result}]; }
};

// Each configured provider's webhook route: the provider checks the notification (source, signature), the event is
// stored once (unique by provider, external id and event) with its processing job in the same transaction, and the
// answer is 200 in milliseconds. Nothing is granted here: a worker applies the event after the provider confirms it.
// X-Forwarded-For is believed only from `trusted_proxies`. A body over kMaxNotificationBytes is refused (413) before
// any check that reads it: every provider's notification is a few kilobytes.
inline constexpr size_t kMaxNotificationBytes = 64 * 1024;
void add_payment_webhook_routes(http::Router& router, db::Pool& pool, const PaymentProviders& providers,
                                std::vector<IpNetwork> trusted_proxies, PaymentWebhookStats& stats);

// Stores one event and its processing job; false when the event was already stored (a redelivery). `source_ip`
// is the sender's address, or "api" for a provider's synchronous answer stored as the event it amounts to.
awaitable<bool> store_payment_event(db::Transaction& tx, const std::string& provider, const std::string& external_id,
                                    const std::string& event, const nlohmann::json& payload,
                                    const std::string& source_ip);
awaitable<bool> store_payment_event(db::Pool& pool, const std::string& provider, const std::string& external_id,
                                    const std::string& event, const nlohmann::json& payload,
                                    const std::string& source_ip);

}  // namespace vpnbot::billing
