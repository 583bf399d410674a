#include "telegram/ingest.hpp"

#include <sodium.h>

#include "core/json.hpp"
#include "core/log.hpp"
#include "core/task_group.hpp"

namespace vpnbot::telegram {

bool secret_matches(std::string_view presented, std::string_view expected) {
  unsigned char a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];
  crypto_generichash(a, sizeof a, reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), nullptr,
                     0);
  crypto_generichash(b, sizeof b, reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), nullptr, 0);
  return sodium_memcmp(a, b, sizeof a) == 0;
}

void add_webhook_route(http::Router& router, db::Pool& pool, InboxWriter& writer, std::string secret,
                       IngestStats& stats) {
  router.add(http::bhttp::verb::post, kWebhookPath,
             [&pool, &writer, secret = std::move(secret), &stats](http::Request& request) -> awaitable<http::Response> {
               auto presented = request.header("X-Telegram-Bot-Api-Secret-Token");
               if (presented.empty() || !secret_matches(presented, secret)) {
                 ++stats.rejected_secret;
                 if (stats.kept.admit("bad_secret", Clock::now()))
                   log::warn("telegram", "webhook rejected: bad secret",
                             {{"request_id", request.request_id},
                              {"remote_ip", request.remote_ip},
                              {"missing", presented.empty()},
                              {"similar_not_logged", stats.kept.take_suppressed("bad_secret")}});
                 co_return http::json_response(
                     presented.empty() ? http::bhttp::status::unauthorized : http::bhttp::status::forbidden,
                     {{"error", "invalid secret token"}});
               }
               const std::string& body = request.message.body();
               std::string reason;
               UpdateKey key;
               try {
                 key = classify_update(parse_json(body));
               } catch (const BadJson& e) {
                 reason = std::string("body is not an update: ") + e.what();
               } catch (const MalformedUpdate& e) {
                 reason = e.what();
               }
               Inbox inbox(pool);
               if (!reason.empty()) {
                 // Kept for the operator and answered 200: a 4xx would make Telegram redeliver it forever and
                 // hold back every update after it.
                 ++stats.malformed;
                 if (stats.kept.admit("malformed", Clock::now())) {
                   log::warn("telegram", "malformed update kept and skipped",
                             {{"request_id", request.request_id},
                              {"reason", reason},
                              {"similar_not_kept", stats.kept.take_suppressed("malformed")}});
                   co_await inbox.store_malformed("webhook", reason, body);
                 }
                 co_return http::json_response(http::bhttp::status::ok, {{"ok", true}, {"stored", false}});
               }
               bool fresh = co_await writer.store(std::move(key), body);
               if (fresh)
                 ++stats.stored;
               else
                 ++stats.duplicates;
               co_return http::json_response(http::bhttp::status::ok, {{"ok", true}});
             });
}

awaitable<int64_t> load_poll_offset(db::Pool& pool) {
  auto r = co_await pool.query("SELECT (value->>'offset')::bigint FROM bot_state WHERE key = 'telegram_poll'");
  co_return r.empty() ? 0 : r.get<int64_t>(0, 0);
}

awaitable<int64_t> store_polled_updates(db::Pool& pool, const json& updates, IngestStats& stats) {
  co_return co_await pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
    int64_t next_offset = 0;
    for (const auto& update : updates) {
      // The offset must move past a malformed update too, or getUpdates would return it forever.
      if (update.is_object() && update.contains("update_id") && update["update_id"].is_number_integer())
        next_offset = std::max(next_offset, update["update_id"].get<int64_t>() + 1);
      std::optional<UpdateKey> key;
      std::string reason;
      try {
        key = classify_update(update);
      } catch (const MalformedUpdate& e) {
        reason = e.what();
      }
      if (key) {
        // A savepoint per update: a value PostgreSQL refuses (22xxx, e.g. \u0000 in a string) must not fail the
        // batch, or the poller would fetch the same batch forever.
        co_await tx.query("SAVEPOINT polled_update");
        bool refused = false;
        try {
          bool fresh = co_await Inbox::store(tx, *key, update);
          fresh ? ++stats.stored : ++stats.duplicates;
        } catch (const db::Error& e) {
          if (e.sqlstate().rfind("22", 0) != 0) throw;
          refused = true;
          reason = e.what();
        }
        co_await tx.query(refused ? "ROLLBACK TO SAVEPOINT polled_update" : "RELEASE SAVEPOINT polled_update");
        if (refused) key.reset();
      }
      if (!key) {
        ++stats.malformed;
        log::warn("telegram", "malformed polled update kept and skipped", {{"reason", reason}});
        std::string body = update.dump(-1, '?', true);
        co_await tx.exec("INSERT INTO tg_malformed (source, reason, body) VALUES ('polling', $1, $2)", reason, body);
      }
    }
    json state{{"offset", next_offset}};
    co_return co_await tx.value<int64_t>(
        "INSERT INTO bot_state (key, value) VALUES ('telegram_poll', $1) ON CONFLICT (key) DO UPDATE "
        "SET value = jsonb_build_object('offset', GREATEST((bot_state.value->>'offset')::bigint, "
        "(EXCLUDED.value->>'offset')::bigint)), updated_at = now() RETURNING (value->>'offset')::bigint",
        state);
  });
}

Poller::Poller(asio::any_io_executor ex, db::Pool& pool, BotApi& api, PollerOptions options)
    : pool_(pool),
      api_(api),
      options_(std::move(options)),
      lease_(ex, pool, "telegram-poller", options_.owner, options_.lease_ttl),
      wake_(ex) {
  lease_.on_acquired = [this] { wake_.notify(); };
}

void Poller::stop() {
  stopping_ = true;
  lease_.stop();
  wake_.notify();
  // Nothing is lost: the offset only advances after the polled updates are committed.
  cancel_poll_.cancel();
}

awaitable<void> Poller::run() {
  auto ex = co_await asio::this_coro::executor;
  TaskGroup lease_loop(ex, [](const std::string& task, const std::string& error) {
    log::error("telegram", "poller lease failed", {{"task", task}, {"error", error}});
  });
  lease_loop.spawn("poller-lease", lease_.run());
  bool webhook_cleared = false;
  Millis backoff{1000};
  while (!stopping_) {
    if (!lease_.held()) {
      wake_.reset();
      // stop() may have come during the last await: its notification must not be reset away.
      if (!stopping_) co_await wake_.wait_for(options_.lease_ttl / 3);
      continue;
    }
    std::string error;
    std::optional<Millis> pause;
    try {
      if (!webhook_cleared) {
        co_await api_.delete_webhook(false);  // getUpdates is refused while a webhook is set
        webhook_cleared = true;
        log::info("telegram", "polling for updates", {{"owner", options_.owner}});
      }
      int64_t offset = co_await load_poll_offset(pool_);
      if (stopping_) break;
      auto updates =
          co_await api_.get_updates(offset, options_.timeout_seconds, 100, options_.allowed_updates, &cancel_poll_);
      if (updates.is_array() && !updates.empty()) co_await store_polled_updates(pool_, updates, stats_);
      backoff = Millis(1000);
    } catch (const ApiError& e) {
      error = e.what();
      if (e.too_many_requests()) pause = Millis(e.retry_after().value_or(1) * 1000);
      if (e.code() == 409) webhook_cleared = false;
    } catch (const http::TransportError& e) {
      if (stopping_ && e.cancelled()) break;
      error = e.what();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) {
      Millis wait = pause.value_or(backoff);
      log::warn("telegram", "polling failed, will retry", {{"error", error}, {"retry_ms", wait.count()}});
      backoff = std::min(backoff * 2, Millis(30000));
      wake_.reset();
      // stop() may have come during the last await: its notification must not be reset away.
      if (!stopping_) co_await wake_.wait_for(wait);
    }
  }
  lease_.stop();                                       // also when the loop ended by itself
  co_await lease_loop.join(Clock::time_point::max());  // stop() wakes its renewal wait
}

}  // namespace vpnbot::telegram
