#include "billing/groups.hpp"

#include <stdexcept>

namespace vpnbot::billing {
namespace {

constexpr const char* kGroupColumns =
    "g.id, g.name, g.plan_percent, (SELECT count(*) FROM users u WHERE u.promo_group_id = g.id)";

auto group_fields(PromoGroup& g) {
  return std::tie(g.id, g.name, g.plan_percent, g.members);
}

std::optional<PromoGroup> first_group(const db::Result& r) {
  auto groups = r.read_all<PromoGroup>(group_fields);
  if (groups.empty()) return std::nullopt;
  return groups.front();
}

}  // namespace

awaitable<PromoGroup> PromoGroups::create(db::Transaction& tx, const std::string& name, int plan_percent) {
  bool name_ok = !name.empty() && name.size() <= 32;
  for (char c : name) name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  if (!name_ok) throw std::invalid_argument("group name: 1-32 of a-z, 0-9, _ and -");
  if (plan_percent < 1 || plan_percent > 90) throw std::invalid_argument("a group's discount is 1-90 percent");
  auto r = co_await tx.exec(
      "INSERT INTO promo_groups (name, plan_percent) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id", name,
      plan_percent);
  if (r.empty()) throw std::invalid_argument("group " + name + " exists");
  co_return PromoGroup{r.get<int64_t>(0, 0), name, plan_percent, 0};
}

awaitable<std::vector<PromoGroup>> PromoGroups::list(db::Transaction& tx) {
  auto r = co_await tx.exec(std::string("SELECT ") + kGroupColumns + " FROM promo_groups g ORDER BY g.name");
  co_return r.read_all<PromoGroup>(group_fields);
}

awaitable<std::optional<PromoGroup>> PromoGroups::by_name(db::Transaction& tx, const std::string& name) {
  auto r = co_await tx.exec(std::string("SELECT ") + kGroupColumns + " FROM promo_groups g WHERE g.name = $1", name);
  co_return first_group(r);
}

awaitable<std::optional<PromoGroup>> PromoGroups::of_user(db::Transaction& tx, int64_t user_id) {
  // Read at every checkout: the member count (a scan of the group) is left out.
  auto r = co_await tx.exec(
      "SELECT g.id, g.name, g.plan_percent, 0::bigint FROM promo_groups g JOIN users u ON u.promo_group_id = g.id "
      "WHERE u.id = $1",
      user_id);
  co_return first_group(r);
}

awaitable<bool> PromoGroups::assign(db::Transaction& tx, int64_t user_id, std::optional<int64_t> group_id) {
  co_return co_await tx.changed("UPDATE users SET promo_group_id = $2 WHERE id = $1", user_id, group_id);
}

}  // namespace vpnbot::billing
