#include "core/log.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <chrono>
#include <ctime>
#include <thread>

namespace vpnbot::log {
namespace {

constexpr size_t kQueuedLines = 8192;

// One writer thread behind a bounded queue: a slow or stuck reader of stdout (a full pipe, a paused log shipper)
// never blocks an event loop. When the queue is full the oldest line is dropped and counted.
std::shared_ptr<spdlog::details::thread_pool>& writer() {
  static std::shared_ptr<spdlog::details::thread_pool> instance =
      std::make_shared<spdlog::details::thread_pool>(kQueuedLines, 1);
  return instance;
}

std::shared_ptr<spdlog::logger> make_logger(bool async) {
  // The JSON line is built by write(); spdlog only adds the newline.
  auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  std::shared_ptr<spdlog::logger> l;
  if (async)
    l = std::make_shared<spdlog::async_logger>("vpnbot", sink, writer(), spdlog::async_overflow_policy::overrun_oldest);
  else
    l = std::make_shared<spdlog::logger>("vpnbot", sink);
  l->set_pattern("%v");
  l->set_level(spdlog::level::info);
  l->flush_on(spdlog::level::trace);  // each line reaches the reader promptly (on the writer thread when async)
  return l;
}

// Synchronous until a long-running process switches to the writer thread (command-line tools keep their log
// lines in order with what they print).
std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance = make_logger(false);
  return instance;
}

std::string utc_timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

}  // namespace

bool valid_level(std::string_view level) {
  return level == "trace" || level == "debug" || level == "info" || level == "warn" || level == "error" ||
         level == "critical" || level == "off";
}

void set_level(std::string_view level) {
  logger()->set_level(spdlog::level::from_str(std::string(level == "warn" ? "warning" : level)));
}

void init(std::string_view level) {
  set_level(level);
}

void use_writer_thread() {
  auto level = logger()->level();
  logger() = make_logger(true);
  logger()->set_level(level);
}

uint64_t dropped_lines() {
  return writer()->overrun_counter();
}

void flush() {
  // The queue is FIFO: once a flush request has been processed, every earlier line was written.
  logger()->flush();
  for (int i = 0; i < 500 && writer()->queue_size() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void write(spdlog::level::level_enum level, std::string_view component, std::string_view msg,
           const nlohmann::json& fields) {
  auto& l = logger();
  if (!l->should_log(level)) return;
  nlohmann::json line = {
      {"ts", utc_timestamp()},
      {"level", std::string(spdlog::level::to_string_view(level).data(), spdlog::level::to_string_view(level).size())},
      {"component", component},
      {"msg", msg}};
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  // Replace invalid UTF-8 (e.g. from a hostile request) instead of throwing from a log call.
  l->log(level, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string what(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace vpnbot::log
