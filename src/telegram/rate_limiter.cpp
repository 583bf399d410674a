#include "telegram/rate_limiter.hpp"

#include <algorithm>

namespace vpnbot::telegram {
namespace {
constexpr auto kGlobalWindow = std::chrono::seconds(1);
constexpr auto kMinute = std::chrono::seconds(60);
}  // namespace

Clock::duration RateLimiter::private_interval() const {
  return std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / std::max(limits_.private_chat_per_second, 1e-6)));
}

void RateLimiter::prune(Clock::time_point now) const {
  while (!releases_.empty() && releases_.front() <= now) releases_.pop_front();
}

size_t RateLimiter::held_slots(Clock::time_point now) const {
  prune(now);
  return in_flight_.size() + releases_.size();
}

Clock::time_point RateLimiter::global_ready_at(Clock::time_point now, size_t reserved) const {
  auto ready = std::max(now, paused_until_);
  size_t limit = static_cast<size_t>(std::max(limits_.global_per_second, 0));
  if (limit == 0) return Clock::time_point::max();
  prune(now);
  size_t held = in_flight_.size() + releases_.size() + reserved;
  if (held < limit) return ready;
  // Every slot is held: the (held - limit + 1)-th release frees one; if too few calls have completed, only a
  // completion can.
  size_t index = held - limit;
  if (index >= releases_.size()) return Clock::time_point::max();
  return std::max(ready, releases_[index]);
}

Clock::time_point RateLimiter::ready_at(int64_t chat_id, Clock::time_point now, size_t reserved) const {
  auto ready = global_ready_at(now, reserved);
  auto it = chats_.find(chat_id);
  if (it == chats_.end()) return ready;
  const auto& chat = it->second;
  if (chat.in_flight) return Clock::time_point::max();
  if (chat_id > 0) {
    // GCRA: conforming when now >= TAT - (burst - 1) * interval.
    auto tolerance = private_interval() * std::max(limits_.private_chat_burst - 1, 0);
    return std::max(ready, chat.theoretical_arrival - tolerance);
  }
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
  auto released = finished + kGlobalWindow;  // completions come in time order: this is almost always the back
  releases_.insert(std::upper_bound(releases_.begin(), releases_.end(), released), released);
  if (!chat_id) return;
  auto& chat = chats_[*chat_id];
  chat.in_flight = false;
  chat.last_activity = finished;
  if (*chat_id > 0) {
    chat.theoretical_arrival = std::max(chat.theoretical_arrival, finished) + private_interval();
  } else {
    chat.recent.push_back(finished);
    size_t keep = static_cast<size_t>(std::max(limits_.group_per_minute, 1));
    while (chat.recent.size() > keep) chat.recent.pop_front();
  }
}

void RateLimiter::abandoned(Slot slot) {
  auto it = in_flight_.find(slot);
  if (it == in_flight_.end()) return;
  if (it->second) chats_[*it->second].in_flight = false;
  in_flight_.erase(it);
}

void RateLimiter::pause_until(Clock::time_point until) {
  paused_until_ = std::max(paused_until_, until);
}

void RateLimiter::forget_idle(Clock::time_point now) {
  prune(now);
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
