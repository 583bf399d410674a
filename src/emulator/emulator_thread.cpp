#include "emulator/emulator_thread.hpp"

#include <future>

namespace vpnbot::emulator {

TelegramEmulatorThread::TelegramEmulatorThread(TelegramEmulatorOptions options) : token_(options.token) {
  emulator_ = std::make_unique<TelegramEmulator>(io_.get_executor(), options);
  emulator_->start();
  base_url_ = emulator_->base_url();
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

TelegramEmulatorThread::~TelegramEmulatorThread() {
  std::promise<void> done;
  asio::co_spawn(io_, emulator_->shutdown(), [&](std::exception_ptr) { done.set_value(); });
  done.get_future().wait_for(std::chrono::seconds(10));
  io_.stop();
  thread_.join();
}

}  // namespace vpnbot::emulator
