#pragma once
#include <string>

#include "core/event.hpp"
#include "core/sampler.hpp"
#include "db/pool.hpp"
#include "http/server.hpp"
#include "jobs/lease.hpp"
#include "telegram/bot_api.hpp"
#include "telegram/inbox.hpp"
#include "telegram/inbox_writer.hpp"

namespace vpnbot::telegram {

inline constexpr const char* kWebhookPath = "/telegram/webhook";

struct IngestStats {
  uint64_t stored = 0;
  uint64_t duplicates = 0;
  uint64_t malformed = 0;
  uint64_t rejected_secret = 0;
  // Refused and malformed bodies are counted; only a few a minute are logged or kept in tg_malformed.
  Sampler kept{5};
};

// Constant-time comparison of the X-Telegram-Bot-Api-Secret-Token header (lengths do not leak either).
bool secret_matches(std::string_view presented, std::string_view expected);

// POST /telegram/webhook: checks the secret, stores the raw update (a redelivery is a no-op) and answers.
// Nothing else happens in the request: handling is the dispatcher's job.
void add_webhook_route(http::Router& router, db::Pool& pool, InboxWriter& writer, std::string secret,
                       IngestStats& stats);

// Stores a batch from getUpdates and advances the offset in the same transaction; returns the new offset.
awaitable<int64_t> store_polled_updates(db::Pool& pool, const json& updates, IngestStats& stats);
awaitable<int64_t> load_poll_offset(db::Pool& pool);

struct PollerOptions {
  std::string owner;
  Millis lease_ttl{15000};
  int timeout_seconds = 25;
  std::vector<std::string> allowed_updates;
};

// Development mode: long-polls getUpdates into the inbox. One poller at a time across all processes (a lease);
// the offset lives in the database and advances only after the batch is committed.
class Poller {
 public:
  Poller(asio::any_io_executor ex, db::Pool& pool, BotApi& api, PollerOptions options);
  awaitable<void> run();
  void stop();
  bool leading() const { return lease_.held(); }
  const IngestStats& stats() const { return stats_; }

 private:
  db::Pool& pool_;
  BotApi& api_;
  PollerOptions options_;
  jobs::LeaderLease lease_;
  Event wake_;
  Cancellation cancel_poll_;  // stop() ends the open long poll at once
  bool stopping_ = false;
  IngestStats stats_;
};

}  // namespace vpnbot::telegram
