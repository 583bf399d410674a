#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::billing {

// A personal discount: every member pays `plan_percent` less for plans (renewals included).
struct PromoGroup {
  int64_t id = 0;
  std::string name;
  int plan_percent = 0;
  int64_t members = 0;
};

class PromoGroups {
 public:
  // Throws std::invalid_argument for a bad name (1-32 of a-z, 0-9, _ and -), a percent outside 1-90 or a name in use.
  static awaitable<PromoGroup> create(db::Transaction& tx, const std::string& name, int plan_percent);
  static awaitable<std::vector<PromoGroup>> list(db::Transaction& tx);
  static awaitable<std::optional<PromoGroup>> by_name(db::Transaction& tx, const std::string& name);
  static awaitable<std::optional<PromoGroup>> of_user(db::Transaction& tx, int64_t user_id);
  // Puts the user in the group (nullopt: out of any); false when there is no such user.
  static awaitable<bool> assign(db::Transaction& tx, int64_t user_id, std::optional<int64_t> group_id);
};

}  // namespace vpnbot::billing
