#pragma once
#include <spdlog/common.h>
#include <cstdint>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace vpnbot::log {

// Every log line is one JSON object: {"ts","level","component","msg", ...fields}.
void init(std::string_view level);
void set_level(std::string_view level);
bool valid_level(std::string_view level);
// Long-running processes (serve, wg-agent, sandbox): lines go through a bounded queue to one writer thread, so a
// slow reader of stdout never blocks an event loop. Call once at start, before other threads exist.
void use_writer_thread();
// Lines dropped because the writer could not keep up (the queue holds 8192; the oldest go first).
uint64_t dropped_lines();
// Waits (bounded, ~1 s) until queued lines are written: before exit, so the last lines are not lost.
void flush();
// The message of the std::exception `error` holds, for the log line that reports it (anything that is not a
// std::exception propagates, as a bug should).
std::string what(const std::exception_ptr& error);

void write(spdlog::level::level_enum level, std::string_view component, std::string_view msg,
           const nlohmann::json& fields = nlohmann::json::object());

inline void debug(std::string_view c, std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(spdlog::level::debug, c, m, f);
}
inline void info(std::string_view c, std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(spdlog::level::info, c, m, f);
}
inline void warn(std::string_view c, std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(spdlog::level::warn, c, m, f);
}
inline void error(std::string_view c, std::string_view m, const nlohmann::json& f = nlohmann::json::object()) {
  write(spdlog::level::err, c, m, f);
}

}  // namespace vpnbot::log
