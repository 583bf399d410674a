#include "broadcast/broadcasts.hpp"

#include <fmt/format.h>

#include <set>

#include "core/log.hpp"
#include "jobs/queue.hpp"
#include "telegram/outbox.hpp"

namespace vpnbot::broadcast {
namespace {

using nlohmann::json;

constexpr int kBatch = 1000;

// The audience as SQL over users u ($2 = audience_arg). Every branch is an indexed lookup per user.
std::string audience_filter(const std::string& audience) {
  std::string base = "u.reachable AND NOT u.banned AND u.started_at IS NOT NULL";
  if (audience == "all") return base;
  if (audience == "active")
    return base + " AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.id AND s.expires_at > now())";
  if (audience == "expired")
    return base + " AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.id AND s.expires_at <= now())";
  if (audience == "never_paid")
    return base + " AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id AND o.paid_at IS NOT NULL)";
  if (audience == "trial")
    return base +
           " AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = u.id AND s.trial_only AND s.expires_at > "
           "now())";
  if (audience == "language") return base + " AND u.language = $2";
  if (audience == "node")
    return base +
           " AND EXISTS (SELECT 1 FROM vpn_peers p JOIN vpn_nodes n ON n.id = p.node_id WHERE p.user_id = u.id AND "
           "p.state <> 'removed' AND n.name = $2)";
  throw std::invalid_argument("unknown audience '" + audience + "'");
}

// The Bot API call every recipient gets.
std::pair<std::string, json> message_of(const std::string& text, const std::optional<std::string>& photo,
                                        const json& buttons) {
  json payload{{"parse_mode", "HTML"}};
  if (photo) {
    payload["photo"] = *photo;
    payload["caption"] = text;
  } else {
    payload["text"] = text;
  }
  if (buttons.is_array() && !buttons.empty()) {
    json rows = json::array();
    for (const auto& b : buttons) rows.push_back(json::array({b}));
    payload["reply_markup"] = {{"inline_keyboard", rows}};
  }
  return {photo ? "sendPhoto" : "sendMessage", payload};
}

Progress read_progress(const db::Result& r, int i) {
  Progress p;
  json counts;
  r.read(i, p.id, p.state, p.audience, p.queued, counts);
  p.pending = counts.value("pending", 0);
  p.sending = counts.value("sending", 0);
  p.sent = counts.value("sent", 0);
  p.blocked = counts.value("blocked", 0);
  p.failed = counts.value("failed", 0) + counts.value("ambiguous", 0);
  p.held = counts.value("held", 0);
  p.cancelled = counts.value("cancelled", 0);
  return p;
}

constexpr const char* kProgressColumns =
    "b.id, b.state, b.audience || coalesce(':' || b.audience_arg, ''), b.queued, "
    "(SELECT coalesce(jsonb_object_agg(state, n), '{}') FROM (SELECT state, count(*) AS n FROM outbox o "
    "WHERE o.broadcast_id = b.id GROUP BY state) c)";

}  // namespace

json Progress::to_json() const {
  return {{"id", id},
          {"state", state},
          {"audience", audience},
          {"queued", queued},
          {"pending", pending + sending + held},
          {"sent", sent},
          {"blocked", blocked},
          {"failed", failed},
          {"cancelled", cancelled}};
}

std::string Progress::summary() const {
  return fmt::format("Broadcast #{} ({}, {}): queued {}, sent {}, blocked {}, failed {}, waiting {}{}", id, state,
                     audience, queued, sent, blocked, failed, pending + sending + held,
                     cancelled ? fmt::format(", cancelled {}", cancelled) : "");
}

awaitable<int64_t> Broadcasts::create(db::Transaction& tx, const BroadcastSpec& spec) {
  audience_filter(spec.audience);  // throws for an unknown audience
  if ((spec.audience == "language" || spec.audience == "node") && (!spec.audience_arg || spec.audience_arg->empty()))
    throw std::invalid_argument("audience " + spec.audience + " needs an argument (a language code or node name)");
  if (spec.text.empty() || spec.text.size() > (spec.photo ? 1024u : 4096u))
    throw std::invalid_argument(spec.photo ? "a photo caption is 1-1024 characters" : "the text is 1-4096 characters");
  for (const auto& b : spec.buttons)
    if (!b.is_object() || !b.contains("text") || !b.contains("url") || !b["url"].is_string() ||
        (b["url"].get<std::string>().rfind("https://", 0) != 0 &&
         b["url"].get<std::string>().rfind("http://", 0) != 0 && b["url"].get<std::string>().rfind("tg://", 0) != 0))
      throw std::invalid_argument("buttons are {text, url} with an http(s):// or tg:// url");
  co_return co_await tx.value<int64_t>(
      "INSERT INTO broadcasts (created_by, text, photo, buttons, audience, audience_arg) VALUES ($1, $2, $3, $4, $5, "
      "$6) RETURNING id",
      spec.created_by, spec.text, spec.photo, spec.buttons, spec.audience, spec.audience_arg);
}

awaitable<void> Broadcasts::preview(db::Transaction& tx, int64_t id, int64_t chat_id) {
  auto r = co_await tx.exec("SELECT text, photo, buttons FROM broadcasts WHERE id = $1", id);
  if (r.empty()) throw std::invalid_argument("no broadcast " + std::to_string(id));
  auto [method, payload] =
      message_of(r.get<std::string>(0, 0), r.get<std::optional<std::string>>(0, 1), r.get<json>(0, 2));
  telegram::OutMessage m;
  m.chat_id = chat_id;
  m.method = method;
  m.payload = payload;
  co_await telegram::Outbox::enqueue(tx, m);
}

awaitable<bool> Broadcasts::start(db::Transaction& tx, int64_t id, std::optional<int64_t> status_chat_id) {
  auto r = co_await tx.exec(
      "UPDATE broadcasts SET state = 'running', runs = runs + 1, started_at = coalesce(started_at, now()), "
      "status_chat_id = coalesce($2, status_chat_id) WHERE id = $1 AND state IN ('draft', 'paused') RETURNING runs",
      id, status_chat_id);
  if (r.empty()) co_return false;
  co_await tx.exec(
      "WITH back AS (UPDATE outbox SET state = 'pending' WHERE broadcast_id = $1 AND state = 'held' RETURNING 1) "
      "SELECT pg_notify('vpnbot_outbox', '') WHERE EXISTS (SELECT 1 FROM back)",
      id);
  jobs::NewJob fanout;
  fanout.kind = "broadcast.fanout";
  fanout.payload = {{"broadcast_id", id}};
  fanout.unique_key = "broadcast:" + std::to_string(id) + ":run:" + std::to_string(r.get<int64_t>(0, 0));
  fanout.max_attempts = 100;
  co_await jobs::Queue::enqueue(tx, fanout);
  log::info("broadcast", "started", {{"broadcast_id", id}});
  co_return true;
}

awaitable<bool> Broadcasts::pause(db::Transaction& tx, int64_t id) {
  auto r = co_await tx.exec("UPDATE broadcasts SET state = 'paused' WHERE id = $1 AND state = 'running'", id);
  if (r.affected() == 0) co_return false;
  // Queued messages not yet picked by the sender wait too.
  co_await tx.exec("UPDATE outbox SET state = 'held' WHERE broadcast_id = $1 AND state = 'pending'", id);
  co_return true;
}

awaitable<bool> Broadcasts::cancel(db::Transaction& tx, int64_t id) {
  auto r = co_await tx.exec(
      "UPDATE broadcasts SET state = 'cancelled', finished_at = now() WHERE id = $1 AND state IN ('draft', "
      "'running', 'paused')",
      id);
  if (r.affected() == 0) co_return false;
  co_await tx.exec("UPDATE outbox SET state = 'cancelled' WHERE broadcast_id = $1 AND state IN ('pending', 'held')",
                   id);
  co_return true;
}

awaitable<int64_t> Broadcasts::fan_out_batch(db::Transaction& tx, int64_t id, int batch) {
  auto b = co_await tx.exec(
      "SELECT state, cursor_user_id, text, photo, buttons, audience, audience_arg FROM broadcasts WHERE id = $1 FOR "
      "UPDATE",
      id);
  if (b.empty() || b.get<std::string>(0, 0) != "running") co_return -1;
  auto [method, payload] =
      message_of(b.get<std::string>(0, 2), b.get<std::optional<std::string>>(0, 3), b.get<json>(0, 4));
  std::string sql = fmt::format(R"sql(
WITH batch AS (
  SELECT u.id FROM users u WHERE u.id > $1 AND {} ORDER BY u.id LIMIT $3),
queued AS (
  INSERT INTO outbox (chat_id, method, payload, priority, unique_key, broadcast_id, delivery)
  SELECT id, $4, $5::jsonb, 0, 'broadcast:' || $6::bigint || ':' || id, $6::bigint, 'at_most_once' FROM batch
  ON CONFLICT (unique_key) DO NOTHING RETURNING 1),
moved AS (
  UPDATE broadcasts SET cursor_user_id = coalesce((SELECT max(id) FROM batch), cursor_user_id),
                        queued = queued + (SELECT count(*) FROM queued),
                        state = CASE WHEN (SELECT count(*) FROM batch) < $3 THEN 'done' ELSE state END,
                        finished_at = CASE WHEN (SELECT count(*) FROM batch) < $3 THEN now() END
  WHERE id = $6::bigint RETURNING 1)
SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM moved), pg_notify('vpnbot_outbox', ''),
       $2::text AS audience_arg  -- typed even when the audience does not use it)sql",
                                audience_filter(b.get<std::string>(0, 5)));
  co_return co_await tx.value<int64_t>(sql, b.get<int64_t>(0, 1), b.get<std::optional<std::string>>(0, 6), batch,
                                       method, payload, id);
}

awaitable<std::optional<Progress>> Broadcasts::progress(db::Transaction& tx, int64_t id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kProgressColumns + " FROM broadcasts b WHERE b.id = $1", id);
  if (r.empty()) co_return std::nullopt;
  co_return read_progress(r, 0);
}

awaitable<std::vector<Progress>> Broadcasts::list(db::Transaction& tx, int limit) {
  auto r = co_await tx.exec(
      std::string("SELECT ") + kProgressColumns + " FROM broadcasts b ORDER BY b.id DESC LIMIT $1", limit);
  std::vector<Progress> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(read_progress(r, i));
  co_return out;
}

void register_job_handlers(jobs::Worker& worker) {
  worker.on("broadcast.fanout", [](jobs::JobContext& ctx) -> awaitable<void> {
    if (!ctx.job.payload.contains("broadcast_id") || !ctx.job.payload["broadcast_id"].is_number_integer())
      throw jobs::PermanentJobError("broadcast.fanout needs broadcast_id");
    int64_t id = ctx.job.payload["broadcast_id"];
    int64_t total = 0;
    for (;;) {  // one transaction per batch: the cursor and the queued rows commit together
      auto n = co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
        co_return co_await Broadcasts::fan_out_batch(tx, id, kBatch);
      });
      if (n < 0) break;  // paused or cancelled: a resume enqueues a new run
      total += n;
      if (n < kBatch) break;
    }
    log::info("broadcast", "fan-out finished", {{"broadcast_id", id}, {"queued_now", total}});
  });
  worker.on("broadcast.progress", [](jobs::JobContext& ctx) -> awaitable<void> {
    // Live progress for admins who started a broadcast from a chat: one message, edited in place.
    auto r = co_await ctx.pool.query(
        "SELECT b.id, b.status_chat_id, (SELECT (result->>'message_id')::bigint FROM outbox WHERE unique_key = "
        "'broadcast-status:' || b.id AND state = 'sent') FROM broadcasts b WHERE b.status_chat_id IS NOT NULL AND "
        "(b.state IN ('running', 'paused') OR b.finished_at > now() - interval '10 minutes') ORDER BY b.id DESC "
        "LIMIT 20");
    for (int i = 0; i < r.rows(); ++i) {
      int64_t id = r.get<int64_t>(i, 0), chat = r.get<int64_t>(i, 1);
      auto message_id = r.get<std::optional<int64_t>>(i, 2);
      co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
        auto p = co_await Broadcasts::progress(tx, id);
        if (!p) co_return;
        telegram::OutMessage m;
        m.chat_id = chat;
        m.priority = telegram::kPriorityNotice;
        if (message_id) {
          m.method = "editMessageText";
          m.payload = {{"message_id", *message_id}, {"text", p->summary()}};
        } else {
          m.payload = {{"text", p->summary()}};
          m.unique_key = "broadcast-status:" + std::to_string(id);
        }
        co_await telegram::Outbox::enqueue(tx, m);
      });
    }
  });
}

std::vector<jobs::PeriodicTask> periodic_tasks() {
  return {{"broadcast.progress", Millis(5000), [] { return jobs::NewJob{.kind = "broadcast.progress"}; }}};
}

}  // namespace vpnbot::broadcast
