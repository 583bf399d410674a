#include "telegram/rate_limiter.hpp"

#include <algorithm>

namespace vpnbot::telegram {
namespace {
constexpr auto kGlobalWindow = std::chrono::seconds(1);
constexpr auto kMinute = std::chrono::seconds(60);

// Earliest time at which fewer than `limit` of `times` fall within `window` before it.
Clock::time_point window_ready(const std::deque<Clock::time_point>& times, size_t limit, Clock::duration window,
                               Clock::time_point now) {
  if (limit == 0) return Clock::time_point::max();
  if (times.size() < limit) return now;
  return std::max(now, times[times.size() - limit] + window);
}
}  // namespace

Clock::time_point RateLimiter::ready_at(int64_t chat_id, Clock::time_point now) const {
  auto ready = std::max(now, paused_until_);
  ready = std::max(ready, window_ready(global_, static_cast<size_t>(limits_.global_per_second), kGlobalWindow, now));
  auto it = chats_.find(chat_id);
  if (it != chats_.end() && !it->second.empty()) {
    if (chat_id > 0) {
      auto interval = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(1.0 / std::max(limits_.private_chat_per_second, 1e-6)));
      ready = std::max(ready, it->second.back() + interval);
    } else {
      ready = std::max(ready, window_ready(it->second, static_cast<size_t>(limits_.group_per_minute), kMinute, now));
    }
  }
  return ready;
}

void RateLimiter::completed_global(Clock::time_point started, Clock::time_point finished) {
  // The call reached Telegram somewhere between start and finish: from now on its slot counts from the finish, so
  // the next window can never squeeze N+1 arrivals into one second, whatever the network jitter.
  auto it = std::find(global_.begin(), global_.end(), started);
  if (it == global_.end()) return;  // already out of the window
  global_.erase(it);
  global_.insert(std::upper_bound(global_.begin(), global_.end(), finished), finished);
}

void RateLimiter::record_global(Clock::time_point when) {
  global_.push_back(when);
  while (global_.size() > static_cast<size_t>(std::max(limits_.global_per_second, 1))) global_.pop_front();
}

void RateLimiter::record(int64_t chat_id, Clock::time_point when) {
  global_.push_back(when);  // only the last N send times matter for "N per second"
  while (global_.size() > static_cast<size_t>(std::max(limits_.global_per_second, 1))) global_.pop_front();
  auto& chat = chats_[chat_id];
  chat.push_back(when);
  size_t keep = chat_id > 0 ? 1 : static_cast<size_t>(std::max(limits_.group_per_minute, 1));
  while (chat.size() > keep) chat.pop_front();
}

void RateLimiter::completed(int64_t chat_id, Clock::time_point when) {
  auto it = chats_.find(chat_id);
  if (it == chats_.end() || it->second.empty()) return;
  it->second.back() = std::max(it->second.back(), when);
}

void RateLimiter::pause_until(Clock::time_point until) {
  paused_until_ = std::max(paused_until_, until);
}

void RateLimiter::forget_idle(Clock::time_point now) {
  for (auto it = chats_.begin(); it != chats_.end();) {
    if (it->second.empty() || it->second.back() + kMinute < now)
      it = chats_.erase(it);
    else
      ++it;
  }
}

}  // namespace vpnbot::telegram
