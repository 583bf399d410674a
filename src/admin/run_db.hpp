#pragma once
#include <functional>

#include "config/config.hpp"
#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::admin {

db::PoolOptions admin_pool_options(const Config& c);
// Runs one coroutine against the database and returns its exit code; errors are printed, not thrown.
int run_db(const Config& config, std::function<awaitable<int>(db::Pool&)> body);

}  // namespace vpnbot::admin
