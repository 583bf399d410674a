#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::billing {

struct LedgerEntry {
  int64_t user_id = 0;
  std::string account = "balance";  // balance (kopecks) or points
  int64_t amount = 0;               // signed
  std::string source;               // referral, cashback, purchase, promo, admin, refund, exchange, ...
  std::string reference;            // unique with source: the effect is written once, ever
  std::optional<int64_t> actor_id;  // the admin who made a manual adjustment
  std::string note;
};

struct Totals {
  int64_t balance = 0;  // kopecks
  int64_t points = 0;
};

struct LedgerLine {
  std::string account, source, note, created_at;  // created_at: "YYYY-MM-DD HH:MM" UTC
  int64_t amount = 0;
};

// The append-only ledger and its running totals (accounts), always changed in one statement together.
class Ledger {
 public:
  // Writes the entry and moves the total; false (and nothing changes) when (source, reference) was already written
  // or, for a debit (negative amount), when the account does not hold enough: no total ever goes below zero.
  static awaitable<bool> post(db::Transaction& tx, const LedgerEntry& entry);
  static awaitable<bool> exists(db::Transaction& tx, const std::string& source, const std::string& reference);
  // Turns all of the user's points into balance (entries referenced `reference:points` / `:balance`); the number
  // of points exchanged, or nullopt when there were none (or a concurrent debit took them first).
  static awaitable<std::optional<int64_t>> exchange_points(db::Transaction& tx, int64_t user_id,
                                                           const std::string& reference, int64_t kopecks_per_point);
  // Takes `amount` from the balance only if it covers it, then writes the entry; false when it does not.
  static awaitable<bool> spend_balance(db::Transaction& tx, int64_t user_id, int64_t amount, std::string source,
                                       std::string reference);
  // Writes the opposite of every entry of `sources` whose reference is `reference` or starts with `reference:`,
  // under source "<source>_reversal"; a credit already spent is taken back only as far as the total allows.
  // Returns how many were reversed (0 on a replay).
  static awaitable<int64_t> reverse(db::Transaction& tx, const std::vector<std::string>& sources,
                                    const std::string& reference);
  static awaitable<Totals> totals(db::Transaction& tx, int64_t user_id);
  static awaitable<std::vector<LedgerLine>> recent(db::Transaction& tx, int64_t user_id, int limit);
};

}  // namespace vpnbot::billing
