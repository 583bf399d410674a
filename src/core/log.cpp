#include "core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <fmt/format.h>

namespace vpnbot::log {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    // The JSON line is built by write(); spdlog only adds the newline and serialises writers.
    auto l = std::make_shared<spdlog::logger>("vpnbot", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    l->set_pattern("%v");
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
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

void init(std::string_view level) { set_level(level); }

void write(spdlog::level::level_enum level, std::string_view component, std::string_view msg,
           const nlohmann::json& fields) {
  auto& l = logger();
  if (!l->should_log(level)) return;
  nlohmann::json line = {{"ts", utc_timestamp()},
                         {"level", std::string(spdlog::level::to_string_view(level).data(),
                                               spdlog::level::to_string_view(level).size())},
                         {"component", component},
                         {"msg", msg}};
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  // Replace invalid UTF-8 (e.g. from a hostile request) instead of throwing from a log call.
  l->log(level, "{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace vpnbot::log
