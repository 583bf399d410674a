#include "telegram/outbox.hpp"

#include "core/encoding.hpp"

#include <sodium.h>

#include "core/log.hpp"

namespace vpnbot::telegram {
namespace {

// Answers to a callback or pre-checkout query are not messages in the chat (Telegram's per-chat limit is about
// messages), and a pre-checkout answer has a 10 s deadline.
bool answers_a_query(const std::string& method) {
  return method == "answerCallbackQuery" || method == "answerPreCheckoutQuery";
}

constexpr const char* kEnqueue = R"sql(
WITH ins AS (
  INSERT INTO outbox (chat_id, method, payload, files, priority, unique_key, delivery, fallback)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (unique_key) DO NOTHING
  RETURNING id
)
SELECT id, pg_notify('vpnbot_outbox', '') FROM ins)sql";

db::Params enqueue_params(const OutMessage& m) {
  json files = nullptr;
  if (!m.files.empty()) {
    files = json::array();
    for (const auto& f : m.files)
      files.push_back({{"field", f.field},
                       {"filename", f.filename},
                       {"content_type", f.content_type},
                       {"base64", to_base64(f.data)}});
  }
  return db::make_params(m.chat_id, m.method, m.payload, files.is_null() ? db::Param{} : db::to_param(files),
                         m.priority, m.unique_key,
                         std::string(m.delivery == Delivery::at_most_once ? "at_most_once" : "at_least_once"),
                         m.fallback.is_null() ? db::Param{} : db::to_param(m.fallback));
}

bool is_connect_failure(CURLcode code) {
  // The request never reached Telegram: safe to send again.
  return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY ||
         code == CURLE_SSL_CONNECT_ERROR;
}

}  // namespace

awaitable<std::optional<int64_t>> Outbox::enqueue(const OutMessage& message) {
  auto params = enqueue_params(message);
  auto r = co_await pool_.query(kEnqueue, std::move(params));
  if (r.empty()) co_return std::nullopt;
  co_return r.get<int64_t>(0, 0);
}

awaitable<std::optional<int64_t>> Outbox::enqueue(db::Transaction& tx, const OutMessage& message) {
  auto params = enqueue_params(message);
  auto r = co_await tx.query(kEnqueue, std::move(params));
  if (r.empty()) co_return std::nullopt;
  co_return r.get<int64_t>(0, 0);
}

Sender::Sender(asio::any_io_executor ex, db::Pool& pool, BotApi& api, SenderOptions options)
    : LeasedQueueComponent(ex, {"sender", options.max_in_flight, options.poll_interval, Millis(0)}),
      pool_(pool),
      api_(api),
      options_(std::move(options)),
      limiter_(options_.limits) {}

awaitable<std::vector<OutboxRow>> Sender::claim(int capacity) {
  if (options_.may_send && !options_.may_send()) co_return std::vector<Row>{};
  if (Clock::now() >= next_recovery_ || recover_now_) {
    recover_now_ = false;
    co_await recover_abandoned_rows();
    next_recovery_ = Clock::now() + Millis(10000);
    limiter_.forget_idle(Clock::now());
  }
  co_return co_await claim_ready_rows(capacity);
}

Clock::time_point Sender::next_claim(Clock::time_point fallback) {
  // Besides new rows and finished calls (both wake it), the next moment something may be due: when the global
  // rate held rows back, that is when it frees room; after a 429, not before the pause ends.
  auto now = Clock::now();
  auto until = fallback;
  if (next_ready_ > now) until = std::min(until, next_ready_);
  next_ready_ = {};
  if (limiter_.paused_until() > now) until = std::max(until, limiter_.paused_until());
  return until;
}

void Sender::lease_acquired() {
  limiter_.assume_spent(Clock::now());
  recover_now_ = true;
  consumer_.wake();
}

awaitable<void> Sender::recover_abandoned_rows() {
  // Rows another sender left in flight (it died, or lost the lease): at-least-once rows go out again at once (this
  // sender holds the lease, so their sender is gone or no longer sending); at-most-once rows become 'ambiguous'
  // once their lease passed, because the call may have reached Telegram.
  auto r = co_await pool_.exec(R"sql(
UPDATE outbox SET state = CASE WHEN delivery = 'at_least_once' AND attempts < $2 THEN 'pending' ELSE 'ambiguous' END,
                  last_error = 'sender stopped during the call', locked_by = NULL, lease_until = NULL
WHERE state = 'sending'
  AND (lease_until < now() OR (delivery = 'at_least_once' AND locked_by IS DISTINCT FROM $1))
RETURNING state)sql",
                               options_.owner, options_.max_attempts);
  int resent = 0, ambiguous = 0;
  for (int i = 0; i < r.rows(); ++i) {
    if (r.get<std::string>(i, 0) == "pending")
      ++resent;
    else
      ++ambiguous;
  }
  stats_.ambiguous += ambiguous;
  stats_.recovered += resent;
  if (r.rows() > 0)
    log::warn("sender", "outbox rows left in flight by a stopped sender recovered",
              {{"resent", resent}, {"ambiguous", ambiguous}});
}

awaitable<std::vector<OutboxRow>> Sender::claim_ready_rows(int capacity) {
  std::vector<Row> rows;
  auto now = Clock::now();
  if (capacity <= 0 || limiter_.paused_until() > now) co_return rows;
  // A row waits for the chat's earlier rows of its priority or above (one being retried later, say), so a message
  // enqueued after a retry began cannot overtake it; answers to queries are not messages and keep no order.
  auto candidates = co_await pool_.exec(R"sql(
SELECT o.id, o.chat_id, o.method FROM outbox o
WHERE o.state = 'pending' AND o.not_before <= now()
  AND (o.method IN ('answerCallbackQuery', 'answerPreCheckoutQuery') OR NOT EXISTS (
    SELECT 1 FROM outbox e
    WHERE e.chat_id = o.chat_id AND e.state = 'pending' AND e.id < o.id AND e.priority >= o.priority
      AND e.method NOT IN ('answerCallbackQuery', 'answerPreCheckoutQuery')))
ORDER BY o.priority DESC, o.not_before, o.id LIMIT $1)sql",
                                        std::max(capacity * 4, 64));
  std::vector<int64_t> picked;
  std::map<int64_t, Clock::time_point> deferred;  // chat -> when it may get its next message
  std::set<int64_t> seen_chats;
  now = Clock::now();
  // Slots are taken only once the rows are claimed, right before the calls: the database round trips until then
  // do not hold slots. Nothing else takes a slot meanwhile (only this loop does), so what is checked here holds.
  for (int i = 0; i < candidates.rows() && static_cast<int>(picked.size()) < capacity; ++i) {
    int64_t id = candidates.get<int64_t>(i, 0);
    int64_t chat = candidates.get<int64_t>(i, 1);
    if (auto global = limiter_.global_ready_at(now, picked.size()); global > now) {  // nothing else may go either
      next_ready_ = global;
      break;
    }
    if (answers_a_query(candidates.get<std::string>(i, 2))) {
      // Not a message in the chat: no per-chat spacing or ordering, so a button press is answered at once.
      picked.push_back(id);
      continue;
    }
    if (!seen_chats.insert(chat).second || busy_chats_.count(chat)) continue;  // keep the chat's order
    if (auto ready = limiter_.ready_at(chat, now, picked.size()); ready > now) {
      deferred[chat] = ready;
      continue;
    }
    picked.push_back(id);
  }
  // Chats that must wait step out of the head of the queue until their time, so they cannot starve others.
  for (const auto& [chat, ready] : deferred) {
    auto wait_ms = std::chrono::duration_cast<Millis>(ready - now).count() + 1;
    co_await pool_.exec(
        "UPDATE outbox SET not_before = GREATEST(not_before, now() + make_interval(secs => $2::double precision / "
        "1000)) "
        "WHERE chat_id = $1 AND state = 'pending'",
        chat, wait_ms);
  }
  if (picked.empty()) co_return rows;
  auto ids = db::to_bigint_array(picked);
  // Recorded before the call: from here on a crash leaves the row 'sending' for recover_abandoned_rows.
  auto claimed = co_await pool_.exec(
      "UPDATE outbox SET state = 'sending', attempts = attempts + 1, locked_by = $2, "
      "lease_until = now() + make_interval(secs => $3::double precision / 1000) "
      "WHERE id = ANY($1::bigint[]) AND state = 'pending' "
      "RETURNING id, chat_id, method, payload, files, attempts, priority, delivery = 'at_least_once', "
      "fallback IS NOT NULL",
      ids, options_.owner, options_.send_timeout.count() + 5000);
  now = Clock::now();
  for (int i = 0; i < claimed.rows(); ++i) {
    int64_t id = claimed.get<int64_t>(i, 0);
    int64_t chat = claimed.get<int64_t>(i, 1);
    std::string method = claimed.get<std::string>(i, 2);
    // Held from here: the call may reach Telegram any moment from now on.
    auto slot = answers_a_query(method) ? limiter_.take_global(now) : limiter_.take(chat, now);
    if (!answers_a_query(method)) busy_chats_.insert(chat);
    rows.push_back(Row{id, chat, std::move(method), claimed.get<json>(i, 3),
                       claimed.is_null(i, 4) ? json() : claimed.get<json>(i, 4), claimed.get<int>(i, 5),
                       claimed.get<int>(i, 6), claimed.get<bool>(i, 7), claimed.get<bool>(i, 8), slot});
  }
  co_return rows;
}

awaitable<json> Sender::call_api(const Row& row) {
  json params = row.payload;
  params["chat_id"] = row.chat_id;
  // Paid broadcasts: Telegram lets bulk messages exceed 30/s for a fee in Stars (up to 1000/s).
  if (options_.allow_paid_broadcast && row.priority <= kPriorityBulk) params["allow_paid_broadcast"] = true;
  if (row.files.is_array() && !row.files.empty()) {
    std::vector<InputFile> files;
    for (const auto& f : row.files)
      files.push_back({f.value("field", "document"), f.value("filename", "file"), f.value("content_type", ""),
                       from_base64(f.value("base64", ""))});
    co_return co_await api_.call_multipart(row.method, std::move(params), std::move(files), options_.send_timeout);
  }
  co_return co_await api_.call(row.method, std::move(params), options_.send_timeout);
}

awaitable<void> Sender::process(Row row) {
  std::string state, error;
  std::optional<json> result;
  std::optional<Millis> retry_in;
  bool use_fallback = false;
  try {
    result = co_await call_api(row);
    state = "sent";
  } catch (const ApiError& e) {
    error = e.what();
    if (e.too_many_requests()) {
      ++stats_.rate_limited;
      Millis wait(std::max(1, e.retry_after().value_or(1)) * 1000);
      limiter_.pause_until(Clock::now() + wait);  // the limit is the bot's, not the chat's
      retry_in = wait;
      log::warn("sender", "rate limited by Telegram",
                {{"retry_after_s", wait.count() / 1000}, {"chat_id", row.chat_id}});
    } else if (e.forbidden()) {
      state = "blocked";
    } else if (e.code() == 400 && e.description().find("message is not modified") != std::string::npos) {
      state = "sent";  // an edit to the same text: the user already sees it
    } else if (e.code() == 400 && row.has_fallback) {
      use_fallback = true;  // e.g. the message to edit is gone: its replacement goes out instead
    } else if (e.code() == 400 || e.code() == 404) {
      state = "failed";
    } else if (row.attempts < options_.max_attempts) {
      retry_in = Millis(1000 << std::min(row.attempts, 8));
    } else {
      state = "failed";
    }
  } catch (const http::TransportError& e) {
    error = e.what();
    // A connect failure never reached Telegram; any other failure may have: only at-least-once rows go again.
    bool may_repeat = is_connect_failure(e.code()) || row.at_least_once;
    if (may_repeat && row.attempts < options_.max_attempts)
      retry_in = Millis(1000 << std::min(row.attempts, 8));
    else if (is_connect_failure(e.code()))
      state = "failed";
    else
      state = "ambiguous";
  } catch (const std::exception& e) {
    error = e.what();
    state = "failed";  // e.g. a corrupt stored file: retrying cannot help
  }
  // The call cannot have reached Telegram after it returned: its slot counts from here, not from after the
  // bookkeeping below (which would hold slots for a database round trip and cost broadcast throughput).
  limiter_.completed(row.slot, Clock::now());
  try {
    if (use_fallback) {
      co_await send_fallback_instead(row, error);
    } else if (retry_in) {
      co_await retry_later(row, *retry_in, error);
    } else {
      co_await finish(row, state, result, error);
    }
  } catch (const std::exception& e) {
    // The row stays 'sending': recovered by the next sender (resent when at least once, else ambiguous).
    log::error("sender", "could not record the outcome of a send", {{"outbox_id", row.id}, {"error", e.what()}});
  }
  if (!answers_a_query(row.method)) busy_chats_.erase(row.chat_id);
}

awaitable<void> Sender::finish(const Row& row, std::string state, std::optional<json> result, std::string error) {
  if (state == "sent") ++stats_.sent;
  if (state == "blocked") ++stats_.blocked;
  if (state == "failed") ++stats_.failed;
  if (state == "ambiguous") ++stats_.ambiguous;
  if (state != "sent")
    log::warn("sender", "message not delivered",
              {{"outbox_id", row.id}, {"chat_id", row.chat_id}, {"state", state}, {"error", error}});
  db::Param stored;  // a named local, not a ?: temporary inside co_await (g++ 12)
  if (result) stored = db::to_param(*result);
  co_await pool_.exec(R"sql(
WITH done AS (
  UPDATE outbox SET state = $2, result = $3, last_error = NULLIF($4, ''), locked_by = NULL,
                    sent_at = CASE WHEN $2 = 'sent' THEN now() END
  WHERE id = $1 AND state = 'sending' AND locked_by = $5
  RETURNING chat_id
)
UPDATE users SET reachable = false FROM done WHERE $2 = 'blocked' AND users.id = done.chat_id)sql",
                      row.id, state, stored, error, options_.owner);
}

awaitable<void> Sender::retry_later(const Row& row, Millis delay, std::string error) {
  ++stats_.retried;
  // The chat's later messages wait as long, so none overtakes the one being retried.
  co_await pool_.exec(
      "UPDATE outbox SET state = 'pending', locked_by = NULL, lease_until = NULL, "
      "last_error = CASE WHEN id = $1 THEN $3 ELSE last_error END, "
      "not_before = GREATEST(not_before, now() + make_interval(secs => $2::double precision / 1000)) "
      "WHERE (id = $1 AND state = 'sending' AND locked_by = $5) OR (chat_id = $4 AND state = 'pending' AND id > $1)",
      row.id, delay.count(), error, row.chat_id, options_.owner);
}

awaitable<void> Sender::send_fallback_instead(const Row& row, std::string error) {
  // Pending again under the same id, so it keeps its place before the chat's later messages.
  co_await pool_.exec(
      "UPDATE outbox SET method = fallback->>'method', payload = fallback->'payload', fallback = NULL, "
      "state = 'pending', locked_by = NULL, lease_until = NULL, last_error = $2 "
      "WHERE id = $1 AND state = 'sending' AND locked_by = $3 AND fallback IS NOT NULL",
      row.id, error, options_.owner);
}

}  // namespace vpnbot::telegram
