#pragma once
#include <functional>
#include <set>

#include "core/asio.hpp"
#include "db/connection.hpp"

namespace vpnbot::db {

// LISTEN on a dedicated session (never through pgbouncer in transaction mode). Reconnects with backoff
// and re-subscribes; after every (re)connect it calls on_connected so the owner can rescan for anything
// it may have missed while disconnected (notifications are not queued for absent listeners).
class Listener {
 public:
  using Handler = std::function<void(const Notification&)>;
  Listener(asio::any_io_executor blocking, std::string url, std::vector<std::string> channels, Handler on_notify,
           std::function<void()> on_connected = nullptr, Millis connect_timeout = Millis(5000));

  // Runs until stop(); never throws for database trouble (it logs and retries).
  awaitable<void> run();
  void stop();
  bool connected() const { return connected_; }

 private:
  asio::any_io_executor blocking_;
  std::string url_;
  std::vector<std::string> channels_;
  Handler on_notify_;
  std::function<void()> on_connected_;
  Millis connect_timeout_;
  bool stopping_ = false;
  bool connected_ = false;
  std::unique_ptr<asio::steady_timer> wake_;
  Connection* current_ = nullptr;
};

}  // namespace vpnbot::db
