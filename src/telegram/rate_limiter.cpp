#include "telegram/rate_limiter.hpp"

#include <algorithm>

namespace vpnbot::telegram {
namespace {
constexpr auto kMinute = std::chrono::seconds(60);
// Keeps our arithmetic (integer nanoseconds) on the safe side of a server's floating-point bucket.
constexpr auto kMargin = std::chrono::microseconds(200);

// 1 / rate, rounded up: a shorter interval would let the sustained rate creep above the limit.
Clock::duration interval_of(double per_second) {
  return std::chrono::ceil<Clock::duration>(std::chrono::duration<double>(1.0 / std::max(per_second, 1e-6)));
}
}  // namespace

Clock::duration RateLimiter::private_interval() const {
  return interval_of(limits_.private_chat_per_second);
}

Clock::duration RateLimiter::global_interval() const {
  return interval_of(limits_.global_per_second);
}

Clock::time_point RateLimiter::private_arrival(const ChatState& chat) const {
  return std::max(chat.theoretical_arrival, private_spent_until_);
}

Clock::time_point RateLimiter::global_ready_at(Clock::time_point now, size_t reserved) const {
  auto ready = std::max(now, paused_until_);
  auto burst = static_cast<int64_t>(std::max(limits_.global_per_second, 0));
  auto busy = static_cast<int64_t>(in_flight_.size() + reserved);
  // At most `burst` calls in flight at once; beyond that only a completion frees room.
  if (busy + 1 > burst) return Clock::time_point::max();
  if (global_theoretical_arrival_ == Clock::time_point{}) return ready;
  auto conforming = global_theoretical_arrival_ - global_interval() * (burst - busy - 1) + kMargin;
  return std::max(ready, conforming);
}

Clock::time_point RateLimiter::ready_at(int64_t chat_id, Clock::time_point now, size_t reserved) const {
  auto ready = global_ready_at(now, reserved);
  auto it = chats_.find(chat_id);
  bool tracked = it != chats_.end();
  if (tracked && it->second.in_flight) return Clock::time_point::max();
  if (chat_id > 0) {
    // An untracked chat still honours a takeover's assume_spent.
    auto arrival = tracked ? private_arrival(it->second) : private_spent_until_;
    if (arrival == Clock::time_point{}) return ready;
    // GCRA: conforming when now >= TAT - (burst - 1) * interval.
    auto tolerance = private_interval() * std::max(limits_.private_chat_burst - 1, 0);
    return std::max(ready, arrival - tolerance + kMargin);
  }
  if (!tracked) return ready;
  const auto& chat = it->second;
  size_t limit = static_cast<size_t>(std::max(limits_.group_per_minute, 1));
  if (chat.recent.size() >= limit) ready = std::max(ready, chat.recent[chat.recent.size() - limit] + kMinute);
  return ready;
}

RateLimiter::Slot RateLimiter::take(int64_t chat_id, Clock::time_point now) {
  Slot slot = next_slot_++;
  in_flight_[slot] = chat_id;
  auto& chat = chats_[chat_id];
  chat.in_flight = true;
  chat.last_activity = now;
  return slot;
}

RateLimiter::Slot RateLimiter::take_global(Clock::time_point) {
  Slot slot = next_slot_++;
  in_flight_[slot] = std::nullopt;
  return slot;
}

void RateLimiter::completed(Slot slot, Clock::time_point finished) {
  auto it = in_flight_.find(slot);
  if (it == in_flight_.end()) return;
  auto chat_id = it->second;
  in_flight_.erase(it);
  // Completions out of time order only make the GCRA stricter (never looser), so no sorting is needed.
  global_theoretical_arrival_ = std::max(global_theoretical_arrival_, finished) + global_interval();
  if (!chat_id) return;
  auto& chat = chats_[*chat_id];
  chat.in_flight = false;
  chat.last_activity = finished;
  if (*chat_id > 0) {
    chat.theoretical_arrival = std::max(private_arrival(chat), finished) + private_interval();
  } else {
    chat.recent.push_back(finished);
    size_t keep = static_cast<size_t>(std::max(limits_.group_per_minute, 1));
    while (chat.recent.size() > keep) chat.recent.pop_front();
  }
}

void RateLimiter::pause_until(Clock::time_point until) {
  paused_until_ = std::max(paused_until_, until);
}

void RateLimiter::assume_spent(Clock::time_point now) {
  private_spent_until_ = now + private_interval() * std::max(limits_.private_chat_burst, 0);
  auto global_burst = std::max(limits_.global_per_second, 0);
  global_theoretical_arrival_ = std::max(global_theoretical_arrival_, now + global_interval() * global_burst);
}

void RateLimiter::forget_idle(Clock::time_point now) {
  for (auto it = chats_.begin(); it != chats_.end();) {
    const auto& chat = it->second;
    bool idle = !chat.in_flight && chat.last_activity + kMinute < now && chat.theoretical_arrival < now;
    if (idle)
      it = chats_.erase(it);
    else
      ++it;
  }
}

}  // namespace vpnbot::telegram
