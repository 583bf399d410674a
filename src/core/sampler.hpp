#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "core/asio.hpp"

namespace vpnbot {

// Lets through at most `per_minute` events of each kind per minute and counts the rest: what an anonymous client
// can make us store or log stays bounded however fast it sends. Kinds are few (provider x reason).
class Sampler {
 public:
  explicit Sampler(int per_minute) : per_minute_(per_minute) {}

  // True when this event should be kept (stored, logged).
  bool admit(const std::string& kind, Clock::time_point now) {
    auto& window = windows_[kind];
    if (now - window.started >= std::chrono::minutes(1)) {
      window.started = now;
      window.admitted = 0;
    }
    if (window.admitted >= per_minute_) {
      ++window.suppressed;
      return false;
    }
    ++window.admitted;
    return true;
  }
  // Events of this kind not kept since the last call (reported with the next kept one).
  uint64_t take_suppressed(const std::string& kind) {
    auto it = windows_.find(kind);
    if (it == windows_.end()) return 0;
    auto n = it->second.suppressed;
    it->second.suppressed = 0;
    return n;
  }

 private:
  struct Window {
    Clock::time_point started{};
    int admitted = 0;
    uint64_t suppressed = 0;
  };
  int per_minute_;
  std::map<std::string, Window> windows_;
};

}  // namespace vpnbot
