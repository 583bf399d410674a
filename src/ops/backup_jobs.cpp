#include "ops/backup_jobs.hpp"

#include <atomic>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include "core/event.hpp"
#include "core/log.hpp"
#include "ops/backup.hpp"
#include "telegram/outbox.hpp"

namespace vpnbot::ops {
namespace {

// Shared by the job's coroutine (event loop) and the backup running on the blocking executor.
struct BackupRun {
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::optional<BackupFile> file;  // written before `done`, read after it
  std::string error;
};

std::string human_size(int64_t bytes) {
  if (bytes < 1024 * 1024) return std::to_string((bytes + 1023) / 1024) + " KB";
  return std::to_string(bytes / (1024 * 1024)) + "." + std::to_string(bytes % (1024 * 1024) * 10 / (1024 * 1024)) +
         " MB";
}

}  // namespace

void register_backup_jobs(jobs::Worker& worker, BackupJobOptions options) {
  auto deps = std::make_shared<const BackupJobOptions>(std::move(options));
  worker.on("ops.backup", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    const auto& s = deps->settings;
    if (s.backup_dir.empty()) throw jobs::PermanentJobError("backup_dir is not set");
    BackupOptions backup{s.backup_dir, s.backup_key_file, s.backup_keep, s.pg_bin_dir};
    // An earlier backup still waiting to be sent is superseded by this one: cancelled first (its file leaves the
    // outbox with it), so this dump does not carry it and the chat gets the newest.
    auto superseded = co_await ctx.pool.exec(
        "UPDATE outbox SET state = 'cancelled' WHERE unique_key LIKE 'backup:%' AND state IN "
        "('pending', 'held')");
    if (superseded.affected() > 0)
      log::info("backup", "an unsent earlier backup is superseded", {{"cancelled", superseded.affected()}});
    auto run = std::make_shared<BackupRun>();
    auto started = Clock::now();
    asio::co_spawn(
        deps->blocking,
        [run, backup, url = deps->database_url]() -> awaitable<void> {
          try {
            run->file = make_backup(backup, url, [run] { return run->stop.load(); });
          } catch (const std::exception& e) {  // handed to the job's coroutine, which fails the job with it
            run->error = e.what();
          }
          run->done.store(true);
          co_return;
        },
        asio::detached);
    // The backup owns nothing of this coroutine's (only `run`), and this coroutine waits for it to end: a stopping
    // worker makes it end within half a second.
    while (!run->done.load()) {
      if (ctx.stopping && ctx.stopping()) run->stop.store(true);
      co_await sleep_for(Millis(100));
    }
    if (!run->file) throw std::runtime_error("backup failed: " + run->error);
    const BackupFile& file = *run->file;
    log::info("backup", "backup made",
              {{"file", file.name},
               {"bytes", file.bytes},
               {"ms", std::chrono::duration_cast<Millis>(Clock::now() - started).count()}});
    std::optional<telegram::OutMessage> document;
    if (s.backup_chat_id != 0 && deps->telegram_on) {
      if (file.bytes > int64_t(s.backup_send_max_mb) * 1024 * 1024) {
        log::warn("backup", "backup too large to send; kept on disk only",
                  {{"file", file.name}, {"bytes", file.bytes}, {"backup_send_max_mb", s.backup_send_max_mb}});
      } else {
        std::ifstream in(file.path, std::ios::binary);
        std::stringstream data;
        data << in.rdbuf();
        if (!in) throw std::runtime_error("cannot read the backup " + file.path + " back to send it");
        document.emplace();
        document->chat_id = s.backup_chat_id;
        document->method = "sendDocument";
        document->priority = telegram::kPriorityNotice;
        document->unique_key = "backup:" + file.name;
        document->payload = {{"caption", "🗄 vpnbot backup " + file.name + " (" + human_size(file.bytes) +
                                             ", encrypted: restore with vpnbot admin restore and the key file)"}};
        document->files.push_back({"document", file.name, "application/octet-stream", data.str()});
      }
    }
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      if (document) co_await telegram::Outbox::enqueue(tx, *document);
      co_await ctx.complete_in(tx);
    });
  });
}

std::vector<jobs::PeriodicTask> backup_tasks(const Settings& settings) {
  if (settings.backup_dir.empty()) return {};
  return {{"ops.backup", Millis(int64_t(settings.backup_interval_hours) * 3600 * 1000),
           [] { return jobs::NewJob{.kind = "ops.backup"}; }}};
}

}  // namespace vpnbot::ops
