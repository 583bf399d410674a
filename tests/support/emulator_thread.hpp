#pragma once
#include <nlohmann/json.hpp>
#include <thread>

#include "emulator/emulator_thread.hpp"

namespace vpnbot::testing {

// The Telegram emulator on its own thread and io_context, so tests can block while it serves.
class EmulatorThread {
 public:
  explicit EmulatorThread(emulator::TelegramEmulatorOptions options = {}) : emulator_(std::move(options)) {}
  std::string base_url() const { return emulator_.base_url(); }
  const std::string& token() const { return emulator_.token(); }

  // The client API (/client/...), synchronously.
  nlohmann::json client(const std::string& path, const nlohmann::json& body = nullptr);
  nlohmann::json messages(int64_t chat_id);
  nlohmann::json stats() { return client("/client/stats"); }

 private:
  emulator::TelegramEmulatorThread emulator_;
};

// What a chat shows of a message: its text, or a file's or photo's caption.
inline std::string shown_text(const nlohmann::json& m) {
  return m.value("text", "") + m.value("caption", "");
}

// A blocking HTTP request for tests (libcurl easy); returns status and body.
std::pair<long, std::string> http_request(const std::string& method, const std::string& url, const std::string& body,
                                          const std::vector<std::string>& headers = {});

}  // namespace vpnbot::testing

namespace vpnbot::testing {

// The YooKassa + Heleket emulator on its own thread, with its client API.
class PaymentsThread {
 public:
  explicit PaymentsThread(emulator::PaymentsEmulatorOptions options = {}) : options_(options), emulator_(options) {}
  std::string base_url() const { return emulator_.base_url(); }
  const emulator::PaymentsEmulatorOptions& options() const { return options_; }
  nlohmann::json client(const std::string& path, const nlohmann::json& body = nullptr);

 private:
  emulator::PaymentsEmulatorOptions options_;
  emulator::PaymentsEmulatorThread emulator_;
};

}  // namespace vpnbot::testing

namespace vpnbot::testing {

// The Remnawave panel emulator on its own thread, with its client API.
class RemnawaveThread {
 public:
  explicit RemnawaveThread(emulator::RemnawaveEmulatorOptions options = {}) : options_(options), emulator_(options) {}
  std::string base_url() const { return emulator_.base_url(); }
  const emulator::RemnawaveEmulatorOptions& options() const { return options_; }
  nlohmann::json client(const std::string& path, const nlohmann::json& body = nullptr);
  nlohmann::json users() { return client("/client/remnawave/users")["users"]; }
  int64_t calls(const std::string& route) {
    auto c = client("/client/remnawave/stats")["calls"];
    return c.contains(route) ? c[route].get<int64_t>() : 0;
  }

 private:
  emulator::RemnawaveEmulatorOptions options_;
  emulator::RemnawaveEmulatorThread emulator_;
};

}  // namespace vpnbot::testing
