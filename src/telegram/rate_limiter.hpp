#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>

#include "core/asio.hpp"

namespace vpnbot::telegram {

// Telegram's published limits, as a server that counts each call when it arrives: a token bucket of 30/s (burst
// 30) for the whole bot, 1/s with a short burst in one private chat, 20/min in a group. Overridable (paid
// broadcasts allow up to 1000/s).
struct RateLimits {
  int global_per_second = 30;
  double private_chat_per_second = 1.0;
  int group_per_minute = 20;
  int private_chat_burst = 3;
};

// Pure bookkeeping (no I/O) that keeps every call inside Telegram's buckets whatever the response time.
//
// A call reaches Telegram at some unknown moment between our decision to send it and its completion, so a bucket
// of rate r and burst B refuses nothing as long as, for every window [t1, now], the calls whose [start, finish]
// meets it number at most B + r (now - t1). Those are the calls still in flight plus the ones completed within
// the window, so the worst windows start at a completion and the check is a GCRA over completion times with the
// calls in flight counted as already spent: a new call may start when in_flight + 1 <= B and
// now >= TAT - (B - in_flight - 1) / r, where TAT advances by 1/r from each completion. Low latency therefore
// sustains the full rate; high latency is bounded by B calls in flight. Private chats (one call in flight at a
// time) use the same GCRA with their own burst; groups a 20-per-minute window over completions.
class RateLimiter {
 public:
  using Slot = uint64_t;

  explicit RateLimiter(RateLimits limits) : limits_(limits) {}

  // The earliest moment a message to `chat_id` respects every limit; Clock::time_point::max() while that
  // depends on calls still in flight (their completion wakes the sender).
  // `reserved`: slots the caller has promised to calls it will take() before anything else completes.
  Clock::time_point ready_at(int64_t chat_id, Clock::time_point now, size_t reserved = 0) const;
  // The same for a call that counts against the bot's global rate only (answers to queries).
  Clock::time_point global_ready_at(Clock::time_point now, size_t reserved = 0) const;
  // Counts a call about to be made at `now` as in flight (globally and in its chat).
  Slot take(int64_t chat_id, Clock::time_point now);
  Slot take_global(Clock::time_point now);
  // The call made with `slot` completed at `finished` (any outcome: it may have reached Telegram).
  void completed(Slot slot, Clock::time_point finished);
  // After a 429: nothing goes out before `until` (Telegram's retry_after applies to the whole bot).
  void pause_until(Clock::time_point until);
  // This sender took over from another (which may have died mid-call): that one's calls may have reached Telegram
  // right up to now, unknown to this limiter, so every private chat and the global bucket count as spent at `now`
  // (a private chat's next message goes out one interval later, then at the usual rate).
  void assume_spent(Clock::time_point now);
  Clock::time_point paused_until() const { return paused_until_; }
  const RateLimits& limits() const { return limits_; }
  // Forgets chats idle for over a minute and freed slots (bounded memory during a broadcast to many chats).
  void forget_idle(Clock::time_point now);
  size_t tracked_chats() const { return chats_.size(); }
  size_t in_flight() const { return in_flight_.size(); }

 private:
  struct ChatState {
    Clock::time_point theoretical_arrival{};  // GCRA, private chats
    std::deque<Clock::time_point> recent;     // groups: completions within the last minute
    bool in_flight = false;
    Clock::time_point last_activity{};
  };
  Clock::duration private_interval() const;
  Clock::duration global_interval() const;
  // A private chat's theoretical arrival time, at least what a takeover assumed spent.
  Clock::time_point private_arrival(const ChatState& chat) const;

  RateLimits limits_;
  std::unordered_map<Slot, std::optional<int64_t>> in_flight_;  // slot -> its chat (none: an answer to a query)
  Clock::time_point global_theoretical_arrival_{};              // GCRA over completions
  std::unordered_map<int64_t, ChatState> chats_;
  Slot next_slot_ = 1;
  Clock::time_point paused_until_{};
  Clock::time_point private_spent_until_{};  // assume_spent: every private chat's TAT is at least this
};

}  // namespace vpnbot::telegram
