#include "db/listener.hpp"

#include <libpq-fe.h>

#include "core/event.hpp"
#include "core/log.hpp"

namespace vpnbot::db {
namespace {
// An idle LISTEN session is checked this often: a session that died without the socket telling us (server
// crash, network partition) is found within this time. One trivial query per process: negligible.
constexpr Millis kPingInterval{5000};
}  // namespace

Listener::Listener(asio::any_io_executor blocking, std::string url, std::vector<std::string> channels,
                   Handler on_notify, std::function<void()> on_connected, Millis connect_timeout)
    : blocking_(std::move(blocking)),
      url_(std::move(url)),
      channels_(std::move(channels)),
      on_notify_(std::move(on_notify)),
      on_connected_(std::move(on_connected)),
      connect_timeout_(connect_timeout) {}

void Listener::stop() {
  stopping_ = true;
  if (wake_) wake_->cancel();
  if (current_) current_->interrupt();
}

awaitable<void> Listener::run() {
  auto ex = co_await asio::this_coro::executor;
  wake_ = std::make_unique<asio::steady_timer>(ex);
  Millis retry_delay{250};
  while (!stopping_) {
    std::string failure;
    try {
      auto conn = co_await Connection::connect(blocking_, url_, connect_timeout_);
      current_ = conn.get();
      std::string listen;
      for (const auto& ch : channels_) listen += "LISTEN " + conn->quote_identifier(ch) + ";";
      co_await conn->execute_script(listen, connect_timeout_);
      connected_ = true;
      retry_delay = Millis(250);
      log::info("db", "listening", {{"channels", channels_}});
      if (on_connected_) on_connected_();
      while (!stopping_) {
        for (auto& n : conn->take_notifications()) on_notify_(n);
        bool input = co_await conn->wait_for_input(Clock::now() + kPingInterval);
        if (!input && !stopping_) {
          co_await conn->query("SELECT 1", {}, connect_timeout_);  // detects a silently dead session
        }
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
    current_ = nullptr;
    connected_ = false;
    if (stopping_) break;
    log::warn("db", "listener disconnected, retrying", {{"error", failure}, {"retry_ms", retry_delay.count()}});
    wake_->expires_after(retry_delay);
    boost::system::error_code ec;
    co_await wake_->async_wait(asio::redirect_error(use_awaitable, ec));
    retry_delay = std::min(retry_delay * 2, Millis(10000));
  }
}

}  // namespace vpnbot::db
