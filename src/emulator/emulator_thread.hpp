#pragma once
#include <thread>

#include "emulator/telegram_emulator.hpp"

namespace vpnbot::emulator {

// The Telegram emulator on its own thread and io_context (sandbox, tests). Stops and joins on destruction,
// so an exception in the owner never leaves a running thread behind.
class TelegramEmulatorThread {
 public:
  explicit TelegramEmulatorThread(TelegramEmulatorOptions options = {});
  ~TelegramEmulatorThread();
  TelegramEmulatorThread(const TelegramEmulatorThread&) = delete;
  TelegramEmulatorThread& operator=(const TelegramEmulatorThread&) = delete;
  const std::string& base_url() const { return base_url_; }
  const std::string& token() const { return token_; }

 private:
  asio::io_context io_{1};
  std::unique_ptr<TelegramEmulator> emulator_;
  std::thread thread_;
  std::string base_url_;
  std::string token_;
};

}  // namespace vpnbot::emulator
