#include "billing/traffic_packages.hpp"

#include <stdexcept>

namespace vpnbot::billing {
namespace {

constexpr const char* kPackageColumns = "id, gb, price_rub, price_stars, active, sort";

auto package_fields(TrafficPackage& p) {
  return std::tie(p.id, p.gb, p.price_rub, p.price_stars, p.active, p.sort);
}

}  // namespace

awaitable<TrafficPackage> TrafficPackages::create(db::Transaction& tx, int gb, int64_t price_rub, int64_t price_stars,
                                                  int sort) {
  if (gb < 1 || gb > 100000) throw std::invalid_argument("a traffic package is 1-100000 GB");
  if (price_rub <= 0 || price_stars <= 0) throw std::invalid_argument("a traffic package's prices must be positive");
  auto r = co_await tx.exec(std::string("INSERT INTO traffic_packages (gb, price_rub, price_stars, sort) "
                                        "VALUES ($1, $2, $3, $4) RETURNING ") +
                                kPackageColumns,
                            gb, price_rub, price_stars, sort);
  co_return r.read_all<TrafficPackage>(package_fields).front();
}

awaitable<std::vector<TrafficPackage>> TrafficPackages::list(db::Transaction& tx, bool active_only) {
  auto r = co_await tx.exec(
      std::string("SELECT ") + kPackageColumns + " FROM traffic_packages WHERE active OR NOT $1 ORDER BY sort, gb, id",
      active_only);
  co_return r.read_all<TrafficPackage>(package_fields);
}

awaitable<std::optional<TrafficPackage>> TrafficPackages::get(db::Transaction& tx, int64_t id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kPackageColumns + " FROM traffic_packages WHERE id = $1", id);
  auto packages = r.read_all<TrafficPackage>(package_fields);
  if (packages.empty()) co_return std::nullopt;
  co_return packages.front();
}

awaitable<bool> TrafficPackages::set_active(db::Transaction& tx, int64_t id, bool active) {
  auto r = co_await tx.exec("UPDATE traffic_packages SET active = $2 WHERE id = $1", id, active);
  co_return r.affected() == 1;
}

}  // namespace vpnbot::billing
