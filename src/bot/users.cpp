#include "bot/users.hpp"

#include "bot/i18n.hpp"

namespace vpnbot::bot {
namespace {

constexpr const char* kColumns =
    "id, coalesce(username, ''), first_name, language, referral_code, referrer_id, reachable, banned, "
    "started_at IS NOT NULL, coalesce(conversation, 'null'::jsonb), rules_accepted_version";

const db::RowMap kUserRow{kColumns,           &User::id,           &User::username,
                          &User::first_name,  &User::language,     &User::referral_code,
                          &User::referrer_id, &User::reachable,    &User::banned,
                          &User::started,     &User::conversation, &User::rules_accepted_version};

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
  User u = kUserRow.read(r, 0);
  u.created = r.get<bool>(0, 11);
  co_return u;
}

awaitable<std::optional<User>> Users::find(db::Transaction& tx, int64_t id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kColumns + " FROM users WHERE id = $1", id);
  if (r.empty()) co_return std::nullopt;
  co_return kUserRow.read(r, 0);
}

awaitable<void> Users::record_referral(db::Transaction& tx, int64_t user_id, const std::string& referral_code) {
  if (referral_code.empty()) co_return;
  co_await tx.exec(
      "UPDATE users u SET referrer_id = r.id FROM users r "
      "WHERE u.id = $1 AND r.referral_code = $2 AND u.referrer_id IS NULL AND u.started_at IS NULL "
      "AND r.id <> u.id AND r.created_at < u.created_at",
      user_id, referral_code);
}

awaitable<std::optional<int64_t>> Users::record_start(db::Transaction& tx, int64_t user_id,
                                                      const std::string& referral_code) {
  co_await record_referral(tx, user_id, referral_code);
  auto r = co_await tx.exec(
      "UPDATE users SET started_at = now() WHERE id = $1 AND started_at IS NULL RETURNING referrer_id", user_id);
  std::optional<int64_t> referrer;
  if (!r.empty()) r.read(0, referrer);
  co_return referrer;
}

awaitable<bool> Users::accept_rules(db::Transaction& tx, int64_t user_id, int version) {
  auto r = co_await tx.exec(
      "UPDATE users SET rules_accepted_version = $2, rules_accepted_at = now() "
      "WHERE id = $1 AND rules_accepted_version < $2 RETURNING 1",
      user_id, version);
  co_return !r.empty();
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
  co_return co_await tx.value<int64_t>("SELECT count(*) FROM users WHERE referrer_id = $1", user_id);
}

}  // namespace vpnbot::bot
