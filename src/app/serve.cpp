#include "app/serve.hpp"

#include <csignal>

#include "app/housekeeping.hpp"
#include "core/asio.hpp"
#include "core/event.hpp"
#include "core/log.hpp"
#include "db/listener.hpp"
#include "db/migrations.hpp"
#include "db/pool.hpp"
#include "http/server.hpp"
#include "jobs/lease.hpp"
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"

namespace vpnbot::app {
namespace {

db::PoolOptions pool_options(const Config& c) {
  return {c.database_url,       c.db_pool_max,
          c.db_pool_queue_max,  Millis(c.db_acquire_timeout_ms),
          Millis(c.db_connect_timeout_ms), Millis(c.db_query_timeout_ms)};
}

// At start the database may still be coming up (compose starts everything at once): retry for a while.
awaitable<void> migrate_with_retry(db::Pool& pool) {
  auto give_up = Clock::now() + Millis(60000);
  Millis delay{250};
  for (;;) {
    std::string error;
    try {
      co_await db::migrate(pool, db::embedded_migrations());
      co_return;
    } catch (const db::ConnectionError& e) {
      if (Clock::now() >= give_up) throw;
      error = e.what();
    }
    log::warn("app", "database not reachable yet, retrying", {{"error", error}, {"retry_ms", delay.count()}});
    co_await sleep_for(delay);
    delay = std::min(delay * 2, Millis(5000));
  }
}

void add_health_routes(http::Router& router, db::Pool& pool) {
  router.add(http::bhttp::verb::get, "/healthz", [](http::Request&) -> awaitable<http::Response> {
    co_return http::json_response(http::bhttp::status::ok, {{"status", "alive"}});
  });
  router.add(http::bhttp::verb::get, "/readyz", [&pool](http::Request&) -> awaitable<http::Response> {
    std::string problem;
    try {
      auto status = co_await db::migration_status(pool, db::embedded_migrations());
      if (!status.up_to_date()) problem = "migrations pending";
    } catch (const std::exception& e) {
      problem = std::string("database: ") + e.what();
    }
    if (!problem.empty())
      co_return http::json_response(http::bhttp::status::service_unavailable, {{"status", "not ready"}, {"reason", problem}});
    co_return http::json_response(http::bhttp::status::ok, {{"status", "ready"}});
  });
}

struct Roles {
  std::unique_ptr<http::Router> router;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<jobs::Worker> worker;
  std::unique_ptr<db::Listener> listener;
  std::unique_ptr<jobs::LeaderLease> scheduler_lease;
  std::unique_ptr<jobs::Queue> queue;
  std::unique_ptr<jobs::Scheduler> scheduler;
};

awaitable<void> run_roles(const Config& config, db::Pool& pool, int& exit_code) {
  auto ex = co_await asio::this_coro::executor;
  asio::signal_set signals(ex, SIGINT, SIGTERM);
  Roles roles;
  int running = 0;
  Event all_stopped(ex);
  auto track = [&](awaitable<void> task, std::string name) {
    ++running;
    asio::co_spawn(ex, std::move(task), [&, name](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("app", "component crashed", {{"component", name}, {"error", ex.what()}});
          exit_code = 1;
          signals.cancel();  // a crashed role takes the process down so the supervisor restarts it
        }
      }
      if (--running == 0) all_stopped.notify();
    });
  };

  try {
    co_await migrate_with_retry(pool);
    if (config.has_role("gateway")) {
      roles.router = std::make_unique<http::Router>();
      add_health_routes(*roles.router, pool);
      roles.server = std::make_unique<http::Server>(
          ex,
          http::ServerOptions{config.http_listen, static_cast<size_t>(config.http_body_limit_bytes),
                              Millis(config.http_read_timeout_ms), Millis(config.http_idle_timeout_ms)},
          *roles.router);
      roles.server->start();
    }
    if (config.has_role("worker")) {
      roles.worker = std::make_unique<jobs::Worker>(
          ex, pool,
          jobs::WorkerOptions{config.instance_id, config.worker_concurrency, Millis(config.job_lease_ms),
                              Millis(config.job_poll_interval_ms)});
      register_housekeeping_handlers(*roles.worker);
      auto* worker = roles.worker.get();
      roles.listener = std::make_unique<db::Listener>(
          pool.blocking_executor(), config.database_listen_url, std::vector<std::string>{jobs::kNotifyChannel},
          [worker](const db::Notification&) { worker->wake(); }, [worker] { worker->wake(); });
      track(roles.listener->run(), "listener");
      track(roles.worker->run(), "worker");
    }
    if (config.has_role("scheduler")) {
      roles.queue = std::make_unique<jobs::Queue>(pool);
      roles.scheduler_lease =
          std::make_unique<jobs::LeaderLease>(ex, pool, "scheduler", config.instance_id, Millis(config.lease_ttl_ms));
      roles.scheduler =
          std::make_unique<jobs::Scheduler>(ex, *roles.queue, *roles.scheduler_lease, housekeeping_tasks());
      track(roles.scheduler_lease->run(), "scheduler-lease");
      track(roles.scheduler->run(), "scheduler");
    }
    log::info("app", "serving", {{"roles", config.roles}, {"instance", config.instance_id}});
    boost::system::error_code ec;
    int signal = co_await signals.async_wait(asio::redirect_error(use_awaitable, ec));
    log::info("app", "shutting down", {{"signal", ec ? 0 : signal}});
  } catch (const std::exception& e) {
    log::error("app", "startup failed", {{"error", e.what()}});
    exit_code = 1;
  }

  // Order: stop taking new work, finish what is in flight, then release leases and the pool.
  if (roles.server) co_await roles.server->shutdown(Millis(config.http_shutdown_grace_ms));
  if (roles.scheduler) roles.scheduler->stop();
  if (roles.scheduler_lease) roles.scheduler_lease->stop();
  if (roles.worker) roles.worker->stop();
  if (roles.listener) roles.listener->stop();
  if (running > 0) co_await all_stopped.wait_for(Millis(config.http_shutdown_grace_ms + config.job_lease_ms));
  pool.close();
  log::info("app", "stopped", {{"exit_code", exit_code}});
}

}  // namespace

int serve(const Config& config) {
  asio::io_context io(1);
  // Runs the rare libpq calls that block (DNS lookup in connect, cancel requests) off the event loop.
  asio::thread_pool blocking(2);
  db::Pool pool(io.get_executor(), blocking.get_executor(), pool_options(config));
  int exit_code = 0;
  asio::co_spawn(io, run_roles(config, pool, exit_code), [&](std::exception_ptr e) {
    if (e) exit_code = 1;
    io.stop();
  });
  io.run();
  blocking.join();
  return exit_code;
}

int migrate(const Config& config, bool status_only) {
  asio::io_context io(1);
  asio::thread_pool blocking(1);
  db::Pool pool(io.get_executor(), blocking.get_executor(), pool_options(config));
  int exit_code = 0;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        if (status_only) {
          auto s = co_await db::migration_status(pool, db::embedded_migrations());
          log::info("migrate", "status",
                    {{"applied_version", s.applied_version}, {"latest_version", s.latest_version}, {"pending", s.pending}});
          exit_code = s.up_to_date() ? 0 : 3;
        } else {
          int applied = co_await db::migrate(pool, db::embedded_migrations());
          log::info("migrate", "database is up to date", {{"applied_now", applied}});
        }
      },
      [&](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            log::error("migrate", "failed", {{"error", ex.what()}});
          }
          exit_code = 1;
        }
      });
  io.run();
  blocking.join();
  return exit_code;
}

}  // namespace vpnbot::app
