#pragma once
#include <functional>

namespace vpnbot {

// A cancel switch shared by a caller and the operation it is waiting on (Boost 1.74's Asio has no cancellation
// slots). The operation registers a handler while it runs; cancel() calls it once. Single-threaded, like the
// io_context that owns both.
class Cancellation {
 public:
  void cancel() {
    cancelled_ = true;
    if (handler_) {
      auto handler = std::move(handler_);
      handler_ = nullptr;
      handler();
    }
  }
  bool cancelled() const { return cancelled_; }
  // At most one operation at a time; it clears its handler when it ends.
  void on_cancel(std::function<void()> handler) { handler_ = std::move(handler); }
  void clear() { handler_ = nullptr; }

 private:
  bool cancelled_ = false;
  std::function<void()> handler_;
};

}  // namespace vpnbot
