#include "telegram/inbox_writer.hpp"

#include <set>

#include "core/log.hpp"

namespace vpnbot::telegram {

InboxWriter::InboxWriter(asio::any_io_executor ex, db::Pool& pool, size_t max_batch, int max_parallel_batches)
    : ex_(ex),
      pool_(pool),
      max_batch_(max_batch),
      max_parallel_(max_parallel_batches),
      flushes_(ex, [](const std::string& task, const std::string& error) {
        log::error("telegram", "inbox batch writer failed", {{"task", task}, {"error", error}});
      }) {}

awaitable<void> InboxWriter::stop(Clock::time_point deadline) {
  // Each batch is one query under the pool's deadlines: waiting past `deadline` is bounded by them.
  bool in_time = co_await flushes_.join(deadline);  // named: g++ 12 miscompiles `if (!co_await ...)` here
  if (!in_time) co_await flushes_.join(Clock::time_point::max());
}

awaitable<bool> InboxWriter::store(UpdateKey key, std::string raw_json) {
  auto item = std::make_shared<Item>();
  item->key = std::move(key);
  item->payload = std::move(raw_json);
  item->ready = std::make_unique<Event>(ex_);
  pending_.push_back(item);
  if (flushing_ < max_parallel_) {
    ++flushing_;
    flushes_.spawn("inbox-flush", flush());
  }
  // The batch's own query has the pool's deadlines; this bound only guards against a bug leaving us waiting.
  bool finished = co_await item->ready->wait_for(pool_.options().acquire_timeout + pool_.options().query_timeout);
  if (!finished) throw db::QueryTimeout("inbox: batch write did not finish in time");
  if (item->error) std::rethrow_exception(item->error);
  co_return item->fresh;
}

awaitable<db::Result> InboxWriter::insert(const std::vector<std::shared_ptr<Item>>& items) {
  std::string ids = "{", chats = "{";
  std::vector<std::string> kinds, payloads;
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& k = items[i]->key;
    ids += (i ? "," : "") + std::to_string(k.update_id);
    chats += (i ? "," : "") + (k.chat_id ? std::to_string(*k.chat_id) : std::string("NULL"));
    kinds.push_back(k.kind);
    payloads.push_back(items[i]->payload);
  }
  ids += "}";
  chats += "}";
  // The same update twice in one batch: DISTINCT ON keeps one, ON CONFLICT skips stored ones. One NOTIFY.
  co_return co_await pool_.exec(R"sql(
WITH incoming AS (
  SELECT DISTINCT ON (u) u, c, k, p::jsonb AS p
  FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS t(u, c, k, p)
), ins AS (
  INSERT INTO tg_inbox (update_id, chat_id, kind, payload) SELECT u, c, k, p FROM incoming
  ON CONFLICT (update_id) DO NOTHING
  RETURNING update_id
)
SELECT update_id FROM ins
UNION ALL
SELECT -1 FROM (SELECT pg_notify('vpnbot_inbox', '') FROM (SELECT 1 FROM ins LIMIT 1) one) notified)sql",
                                ids, chats, db::to_text_array(kinds), db::to_text_array(payloads));
}

awaitable<void> InboxWriter::keep_refused(const Item& item, std::string reason) {
  log::warn("telegram", "update refused by the database, kept as malformed",
            {{"update_id", item.key.update_id}, {"reason", reason}});
  std::string body = item.payload;
  for (auto& c : body)
    if (static_cast<unsigned char>(c) >= 0x80 || c == 0) c = '?';
  std::string source = "webhook";
  co_await pool_.exec("INSERT INTO tg_malformed (source, reason, body) VALUES ($1, $2, $3)", source, reason, body);
}

awaitable<void> InboxWriter::flush() {
  while (!pending_.empty()) {
    std::vector<std::shared_ptr<Item>> batch;
    while (!pending_.empty() && batch.size() < max_batch_) {
      batch.push_back(std::move(pending_.front()));
      pending_.pop_front();
    }
    std::exception_ptr error;
    std::set<int64_t> inserted;
    bool refused_value = false;
    try {
      auto r = co_await insert(batch);
      for (int i = 0; i < r.rows(); ++i) inserted.insert(r.get<int64_t>(i, 0));
    } catch (const db::Error& e) {
      // 22xxx: a value PostgreSQL refuses (e.g. \u0000 inside a JSON string). One such update must not fail its
      // whole batch (and be redelivered into every later batch): the items are retried one by one below.
      refused_value = e.sqlstate().rfind("22", 0) == 0;
      if (!refused_value) error = std::current_exception();
    } catch (const std::exception&) {
      error = std::current_exception();
    }
    if (refused_value) {
      for (auto& item : batch) {
        std::string reason;
        try {
          std::vector<std::shared_ptr<Item>> one{item};  // named: no braced temporary inside co_await (g++ 12)
          auto r = co_await insert(one);
          for (int i = 0; i < r.rows(); ++i) inserted.insert(r.get<int64_t>(i, 0));
        } catch (const db::Error& e) {
          if (e.sqlstate().rfind("22", 0) == 0)
            reason = e.what();
          else
            item->error = std::current_exception();
        }
        if (reason.empty()) continue;
        try {
          co_await keep_refused(*item, reason);  // acknowledged: redelivering it could never succeed
        } catch (const std::exception&) {
          item->error = std::current_exception();
        }
      }
    }
    for (auto& item : batch) {
      if (error) item->error = error;
      // Within a batch only the first copy of an update counts as fresh.
      item->fresh = !item->error && inserted.erase(item->key.update_id) == 1;
      item->done = true;
      item->ready->notify();
    }
  }
  --flushing_;
}

}  // namespace vpnbot::telegram
