#pragma once
#include <future>
#include <thread>

#include "emulator/payments_emulator.hpp"
#include "emulator/remnawave_emulator.hpp"
#include "emulator/telegram_emulator.hpp"

namespace vpnbot::emulator {

// An emulator on its own thread and io_context (sandbox, tests). Stops and joins on destruction, so an exception
// in the owner never leaves a running thread behind.
template <typename Emulator>
class EmulatorThread {
 public:
  template <typename Options>
  explicit EmulatorThread(Options options) {
    emulator_ = std::make_unique<Emulator>(io_.get_executor(), std::move(options));
    emulator_->start();
    base_url_ = emulator_->base_url();
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~EmulatorThread() {
    std::promise<void> done;
    asio::co_spawn(io_, emulator_->shutdown(), [&](std::exception_ptr) { done.set_value(); });
    done.get_future().wait_for(std::chrono::seconds(10));
    io_.stop();
    thread_.join();
  }
  EmulatorThread(const EmulatorThread&) = delete;
  EmulatorThread& operator=(const EmulatorThread&) = delete;
  const std::string& base_url() const { return base_url_; }
  // Runs `f(emulator)` on the emulator's thread and waits for it (for settings that must not race its loop).
  template <typename F>
  auto call(F f) {
    std::packaged_task<decltype(f(*emulator_))()> task([&] { return f(*emulator_); });
    auto result = task.get_future();
    asio::post(io_, [&] { task(); });
    return result.get();
  }

 private:
  asio::io_context io_{1};
  std::unique_ptr<Emulator> emulator_;
  std::thread thread_;
  std::string base_url_;
};

class TelegramEmulatorThread : public EmulatorThread<TelegramEmulator> {
 public:
  explicit TelegramEmulatorThread(TelegramEmulatorOptions options = {})
      : EmulatorThread(options), token_(options.token) {}
  const std::string& token() const { return token_; }

 private:
  std::string token_;
};

using PaymentsEmulatorThread = EmulatorThread<PaymentsEmulator>;
using RemnawaveEmulatorThread = EmulatorThread<RemnawaveEmulator>;

}  // namespace vpnbot::emulator
