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
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.released_at && *it->second.released_at <= now)
      it = held_.erase(it);
    else
      ++it;
  }
}

size_t RateLimiter::held_slots(Clock::time_point now) const {
  prune(now);
  return held_.size();
}

Clock::time_point RateLimiter::global_ready_at(Clock::time_point now) const {
  auto ready = std::max(now, paused_until_);
  size_t limit = static_cast<size_t>(std::max(limits_.global_per_second, 0));
  if (limit == 0) return Clock::time_point::max();
  prune(now);
  if (held_.size() < limit) return ready;
  // Every slot is held: the earliest release frees one; if all are still in flight, only a completion can.
  auto earliest = Clock::time_point::max();
  for (const auto& [slot, held] : held_)
    if (held.released_at) earliest = std::min(earliest, *held.released_at);
  return std::max(ready, earliest);
}

Clock::time_point RateLimiter::ready_at(int64_t chat_id, Clock::time_point now) const {
  auto ready = global_ready_at(now);
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
  held_[slot] = Held{chat_id, std::nullopt};
  auto& chat = chats_[chat_id];
  chat.in_flight = true;
  chat.last_activity = now;
  return slot;
}

RateLimiter::Slot RateLimiter::take_global(Clock::time_point) {
  Slot slot = next_slot_++;
  held_[slot] = Held{std::nullopt, std::nullopt};
  return slot;
}

void RateLimiter::completed(Slot slot, Clock::time_point finished) {
  auto it = held_.find(slot);
  if (it == held_.end()) return;
  it->second.released_at = finished + kGlobalWindow;
  if (!it->second.chat) return;
  int64_t chat_id = *it->second.chat;
  auto& chat = chats_[chat_id];
  chat.in_flight = false;
  chat.last_activity = finished;
  if (chat_id > 0) {
    chat.theoretical_arrival = std::max(chat.theoretical_arrival, finished) + private_interval();
  } else {
    chat.recent.push_back(finished);
    size_t keep = static_cast<size_t>(std::max(limits_.group_per_minute, 1));
    while (chat.recent.size() > keep) chat.recent.pop_front();
  }
}

void RateLimiter::abandoned(Slot slot) {
  auto it = held_.find(slot);
  if (it == held_.end()) return;
  if (it->second.chat) chats_[*it->second.chat].in_flight = false;
  held_.erase(it);
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
