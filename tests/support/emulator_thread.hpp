#pragma once
#include <nlohmann/json.hpp>
#include <thread>

#include "emulator/telegram_emulator.hpp"

namespace vpnbot::testing {

// The Telegram emulator on its own thread and io_context, so tests can block while it serves.
class EmulatorThread {
 public:
  explicit EmulatorThread(emulator::TelegramEmulatorOptions options = {});
  ~EmulatorThread();
  std::string base_url() const { return base_url_; }
  const std::string& token() const { return token_; }

  // The client API (/client/...), synchronously.
  nlohmann::json client(const std::string& path, const nlohmann::json& body = nullptr);
  nlohmann::json messages(int64_t chat_id);
  nlohmann::json stats() { return client("/client/stats"); }

 private:
  asio::io_context io_{1};
  std::unique_ptr<emulator::TelegramEmulator> emulator_;
  std::thread thread_;
  std::string base_url_;
  std::string token_;
};

// A blocking HTTP request for tests (libcurl easy); returns status and body.
std::pair<long, std::string> http_request(const std::string& method, const std::string& url, const std::string& body,
                                          const std::vector<std::string>& headers = {});

}  // namespace vpnbot::testing
