#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::billing {

// Gigabytes for sale on top of a plan's traffic allowance, added to the current period (vpn/traffic.hpp).
struct TrafficPackage {
  int64_t id = 0;
  int gb = 0;
  int64_t price_rub = 0;  // kopecks
  int64_t price_stars = 0;
  bool active = true;
  int sort = 0;
};

class TrafficPackages {
 public:
  // Throws std::invalid_argument for gigabytes outside 1-100000 or a price that is not positive.
  static awaitable<TrafficPackage> create(db::Transaction& tx, int gb, int64_t price_rub, int64_t price_stars,
                                          int sort);
  static awaitable<std::vector<TrafficPackage>> list(db::Transaction& tx, bool active_only);
  static awaitable<std::optional<TrafficPackage>> get(db::Transaction& tx, int64_t id);
  // False when there is no such package.
  static awaitable<bool> set_active(db::Transaction& tx, int64_t id, bool active);
};

}  // namespace vpnbot::billing
