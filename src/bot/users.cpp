#include "bot/users.hpp"

#include "bot/i18n.hpp"

namespace vpnbot::bot {
namespace {

constexpr const char* kColumns =
    "id, coalesce(username, ''), first_name, language, referral_code, referrer_id, reachable, banned, "
    "started_at IS NOT NULL, conversation";

User read_user(const db::Result& r, int row) {
  User u;
  u.id = r.get<int64_t>(row, 0);
  u.username = r.get<std::string>(row, 1);
  u.first_name = r.get<std::string>(row, 2);
  u.language = r.get<std::string>(row, 3);
  u.referral_code = r.get<std::string>(row, 4);
  u.referrer_id = r.get<std::optional<int64_t>>(row, 5);
  u.reachable = r.get<bool>(row, 6);
  u.banned = r.get<bool>(row, 7);
  u.started = r.get<bool>(row, 8);
  u.conversation = r.is_null(row, 9) ? nlohmann::json() : r.get<nlohmann::json>(row, 9);
  return u;
}

}  // namespace

std::string referral_code_for(int64_t user_id) {
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
  uint64_t v = static_cast<uint64_t>(user_id);
  std::string out;
  do {
    out.insert(out.begin(), digits[v % 36]);
    v /= 36;
  } while (v);
  return out;
}

awaitable<User> Users::touch(db::Transaction& tx, const nlohmann::json& from) {
  if (!from.is_object() || !from.contains("id") || !from["id"].is_number_integer())
    throw std::invalid_argument("update has no sender id");
  int64_t id = from["id"].get<int64_t>();
  std::string first_name = from.value("first_name", "");
  std::optional<std::string> username;
  if (from.contains("username") && from["username"].is_string()) username = from["username"].get<std::string>();
  std::string language = Catalog::normalize_language(from.value("language_code", ""));
  // xmax = 0 tells a fresh insert from an update of an existing row.
  auto r = co_await tx.exec(std::string("INSERT INTO users (id, username, first_name, language, referral_code) "
                                        "VALUES ($1, $2, $3, $4, $5) "
                                        "ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username, "
                                        "first_name = EXCLUDED.first_name, last_seen_at = now() RETURNING ") +
                                kColumns + ", xmax = 0",
                            id, username, first_name, language, referral_code_for(id));
  User u = read_user(r, 0);
  u.created = r.get<bool>(0, 10);
  co_return u;
}

awaitable<std::optional<User>> Users::find(db::Transaction& tx, int64_t id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kColumns + " FROM users WHERE id = $1", id);
  if (r.empty()) co_return std::nullopt;
  co_return read_user(r, 0);
}

awaitable<std::optional<int64_t>> Users::record_start(db::Transaction& tx, int64_t user_id,
                                                      const std::string& referral_code) {
  std::optional<int64_t> referrer;
  if (!referral_code.empty()) {
    auto r = co_await tx.exec(
        "UPDATE users u SET referrer_id = r.id FROM users r "
        "WHERE u.id = $1 AND r.referral_code = $2 AND u.referrer_id IS NULL AND u.started_at IS NULL "
        "AND r.id <> u.id AND r.created_at < u.created_at RETURNING r.id",
        user_id, referral_code);
    if (!r.empty()) referrer = r.get<int64_t>(0, 0);
  }
  co_await tx.exec("UPDATE users SET started_at = coalesce(started_at, now()) WHERE id = $1", user_id);
  co_return referrer;
}

awaitable<void> Users::set_language(db::Transaction& tx, int64_t user_id, const std::string& language) {
  co_await tx.exec("UPDATE users SET language = $2 WHERE id = $1", user_id, language);
}

awaitable<void> Users::set_reachable(db::Transaction& tx, int64_t user_id, bool reachable) {
  co_await tx.exec("UPDATE users SET reachable = $2 WHERE id = $1", user_id, reachable);
}

awaitable<void> Users::set_conversation(db::Transaction& tx, int64_t user_id, const nlohmann::json& state) {
  db::Param value;  // a named local, not a ?: temporary inside co_await (g++ 12)
  if (!state.is_null()) value = db::to_param(state);
  co_await tx.exec("UPDATE users SET conversation = $2 WHERE id = $1", user_id, value);
}

awaitable<int64_t> Users::count_referrals(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec("SELECT count(*) FROM users WHERE referrer_id = $1", user_id);
  co_return r.get<int64_t>(0, 0);
}

}  // namespace vpnbot::bot
