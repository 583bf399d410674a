#pragma once
#include <cstdint>
#include <deque>
#include <unordered_map>

#include "core/asio.hpp"

namespace vpnbot::telegram {

// Telegram's published limits: about 30 messages/s to different chats, 1 message/s to one private chat,
// 20 messages/min to one group. Overridable (paid broadcasts allow up to 1000/s).
struct RateLimits {
  int global_per_second = 30;
  double private_chat_per_second = 1.0;
  int group_per_minute = 20;
};

// Pure bookkeeping of what was sent when (no I/O): the sender asks when a chat may get its next message.
class RateLimiter {
 public:
  explicit RateLimiter(RateLimits limits) : limits_(limits) {}

  // The earliest moment a message to `chat_id` respects every limit (and any global pause after a 429).
  Clock::time_point ready_at(int64_t chat_id, Clock::time_point now) const;
  void record(int64_t chat_id, Clock::time_point when);
  // The call started at `started` (as recorded) finished at `finished`: its global slot moves to the finish.
  void completed_global(Clock::time_point started, Clock::time_point finished);
  // A call that counts against the bot's global rate only (answers to callback and pre-checkout queries).
  void record_global(Clock::time_point when);
  // When the call to that chat finished: the next one is spaced from here, so network jitter between our clock
  // and Telegram's can never squeeze two messages closer than the limit.
  void completed(int64_t chat_id, Clock::time_point when);
  // After a 429: nothing goes out before `until` (Telegram's retry_after applies to the whole bot).
  void pause_until(Clock::time_point until);
  Clock::time_point paused_until() const { return paused_until_; }
  const RateLimits& limits() const { return limits_; }
  // Forgets chats idle for over a minute (bounded memory during a broadcast to many chats).
  void forget_idle(Clock::time_point now);
  size_t tracked_chats() const { return chats_.size(); }

 private:
  RateLimits limits_;
  std::deque<Clock::time_point> global_;  // send times within the last second
  std::unordered_map<int64_t, std::deque<Clock::time_point>> chats_;
  Clock::time_point paused_until_{};
};

}  // namespace vpnbot::telegram
