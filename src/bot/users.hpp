#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::bot {

struct User {
  int64_t id = 0;
  std::string username;
  std::string first_name;
  std::string language = "en";
  std::string referral_code;
  std::optional<int64_t> referrer_id;
  bool reachable = true;
  bool banned = false;
  bool started = false;         // has sent /start before
  nlohmann::json conversation;  // null, or e.g. {"await": "promo_code"}
  int rules_accepted_version = 0;
  bool created = false;  // created by this call
};

// Referral codes are the user id in base 36: unique by construction, short enough for a start link.
std::string referral_code_for(int64_t user_id);

// The users table. Every function runs inside the caller's transaction so a handler's effects commit together.
class Users {
 public:
  // Creates the user on first contact (language from Telegram's language_code) or refreshes name/username.
  // Locks the row for the rest of the transaction.
  static awaitable<User> touch(db::Transaction& tx, const nlohmann::json& from);
  static awaitable<std::optional<User>> find(db::Transaction& tx, int64_t id);
  // Records the referrer before the user's first start only: never self, never changed later, and only a user who
  // existed before this one can be the referrer (the graph is ordered by time, so cycles are impossible).
  static awaitable<void> record_referral(db::Transaction& tx, int64_t user_id, const std::string& referral_code);
  // record_referral, then marks the user started. Returns the referrer's id at the first start (also when the
  // referral was recorded earlier, during maintenance), so the welcome and the inviter's notice happen once.
  static awaitable<std::optional<int64_t>> record_start(db::Transaction& tx, int64_t user_id,
                                                        const std::string& referral_code);
  // Records acceptance of the terms' `version`; false when this or a later version was already accepted.
  static awaitable<bool> accept_rules(db::Transaction& tx, int64_t user_id, int version);
  static awaitable<void> set_language(db::Transaction& tx, int64_t user_id, const std::string& language);
  // The language a user reads ("en" for one the bot does not know), for messages outside the user's own update;
  // `db` is a db::Pool or a db::Transaction.
  template <typename Db>
  static awaitable<std::string> language_of(Db& db, int64_t user_id) {
    auto r = co_await db.exec("SELECT language FROM users WHERE id = $1", user_id);
    co_return r.empty() ? std::string("en") : r.template get<std::string>(0, 0);
  }
  static awaitable<void> set_reachable(db::Transaction& tx, int64_t user_id, bool reachable);
  static awaitable<void> set_conversation(db::Transaction& tx, int64_t user_id, const nlohmann::json& state);
  static awaitable<int64_t> count_referrals(db::Transaction& tx, int64_t user_id);
};

}  // namespace vpnbot::bot
