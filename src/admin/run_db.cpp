#include "admin/run_db.hpp"

#include <iostream>

#include "core/log.hpp"

namespace vpnbot::admin {

db::PoolOptions admin_pool_options(const Config& c) {
  return {c.db.url,
          2,
          100,
          Millis(c.db.acquire_timeout_ms),
          Millis(c.db.connect_timeout_ms),
          Millis(c.db.query_timeout_ms),
          Millis(c.db.transaction_timeout_ms)};
}

// Runs one coroutine against the database and returns its exit code; errors are printed, not thrown.
int run_db(const Config& config, std::function<awaitable<int>(db::Pool&)> body) {
  asio::io_context io(1);
  asio::thread_pool blocking(1);
  db::Pool pool(io.get_executor(), blocking.get_executor(), admin_pool_options(config));
  int rc = 1;
  asio::co_spawn(io, body(pool), [&](std::exception_ptr e, int code) {
    if (!e) {
      rc = code;
      return;
    }
    std::string error = log::what(e);
    std::cerr << "vpnbot admin: " << error << "\n";
    log::error("admin", "command failed", {{"error", error}});
  });
  io.run();
  pool.close();
  blocking.join();
  return rc;
}

}  // namespace vpnbot::admin
