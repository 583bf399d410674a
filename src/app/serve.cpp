#include "app/serve.hpp"

#include <csignal>
#include <random>

#include "admin/billing_cli.hpp"
#include "admin/run_db.hpp"
#include "app/housekeeping.hpp"
#include "app/metrics.hpp"
#include "billing/jobs.hpp"
#include "billing/webhooks.hpp"
#include "bot/bot.hpp"
#include "bot/reminders.hpp"
#include "broadcast/broadcasts.hpp"
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
#include "telegram/dispatcher.hpp"
#include "telegram/ingest.hpp"
#include "telegram/outbox.hpp"
#include "vpn/jobs.hpp"

namespace vpnbot::app {
namespace {

db::PoolOptions pool_options(const Config& c) {
  return {c.database_url,
          c.db_pool_max,
          c.db_pool_queue_max,
          Millis(c.db_acquire_timeout_ms),
          Millis(c.db_connect_timeout_ms),
          Millis(c.db_query_timeout_ms),
          Millis(c.db_transaction_timeout_ms)};
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

void add_liveness_route(http::Router& router) {
  router.add(http::bhttp::verb::get, "/healthz", [](http::Request&) -> awaitable<http::Response> {
    co_return http::json_response(http::bhttp::status::ok, {{"status", "alive"}});
  });
}

// The internal listener's routes: liveness, readiness (names what is wrong) and metrics.
void add_internal_routes(http::Router& router, db::Pool& pool) {
  add_liveness_route(router);
  router.add(http::bhttp::verb::get, "/readyz", [&pool](http::Request&) -> awaitable<http::Response> {
    std::string problem;
    try {
      auto status = co_await db::migration_status(pool, db::embedded_migrations());
      if (!status.up_to_date()) problem = "migrations pending";
    } catch (const std::exception& e) {
      problem = std::string("database: ") + e.what();
    }
    if (!problem.empty())
      co_return http::json_response(http::bhttp::status::service_unavailable,
                                    {{"status", "not ready"}, {"reason", problem}});
    co_return http::json_response(http::bhttp::status::ok, {{"status", "ready"}});
  });
}

struct Roles {
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<http::Router> router;  // public: webhooks and /healthz only
  std::unique_ptr<http::Server> server;
  std::unique_ptr<http::Router> internal_router;  // health_listen: /healthz, /readyz, /metrics
  std::unique_ptr<http::Server> internal_server;
  std::unique_ptr<jobs::Worker> worker;
  std::unique_ptr<db::Listener> listener;
  std::unique_ptr<jobs::LeaderLease> scheduler_lease;
  std::unique_ptr<jobs::Queue> queue;
  std::unique_ptr<jobs::Scheduler> scheduler;
  // Telegram (absent when telegram_mode is off)
  std::unique_ptr<http::Client> http_client;
  std::unique_ptr<telegram::BotApi> bot_api;
  telegram::IngestStats ingest_stats;
  std::unique_ptr<telegram::InboxWriter> inbox_writer;
  std::unique_ptr<telegram::Poller> poller;
  std::unique_ptr<bot::Bot> bot;
  std::unique_ptr<telegram::Dispatcher> dispatcher;
  std::unique_ptr<jobs::LeaderLease> sender_lease;
  std::unique_ptr<telegram::Sender> sender;
  std::unique_ptr<vpn::SecretBox> secret_box;
  // Billing
  billing::PaymentWebhookStats payment_webhook_stats;
  billing::BillingOptions billing_options;
  std::unique_ptr<billing::YooKassa> yookassa;
  std::unique_ptr<billing::Heleket> heleket;
  bool stopping = false;
};

// Retries `attempt` with exponential backoff (1 s .. 60 s) until it succeeds or the process stops. For start-up
// calls to external APIs: the process keeps serving meanwhile instead of crashing in a restart loop.
template <typename Attempt>
awaitable<void> retry_in_background(std::string what, Attempt attempt, const bool& stopping) {
  Millis delay{1000};
  while (!stopping) {
    std::string error;
    try {
      co_await attempt();
      co_return;
    } catch (const std::exception& e) {
      error = e.what();
    }
    log::warn("app", what + " failed, will retry", {{"error", error}, {"retry_ms", delay.count()}});
    co_await sleep_for(delay);
    delay = std::min(delay * 2, Millis(60000));
  }
}

// Registers the webhook with Telegram (url, secret, max_connections, allowed_updates).
awaitable<void> register_webhook(const Config& config, telegram::BotApi& api) {
  telegram::WebhookSettings settings;
  std::string base = config.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  settings.url = base + telegram::kWebhookPath;
  settings.secret_token = config.telegram_webhook_secret;
  settings.max_connections = config.telegram_webhook_max_connections;
  settings.allowed_updates = {"message", "callback_query", "my_chat_member", "pre_checkout_query"};
  co_await api.set_webhook(settings);
  log::info("telegram", "webhook registered", {{"url", settings.url}});
}

// Learns the bot's @username (for referral links).
awaitable<void> learn_bot_username(telegram::BotApi& api, bot::Bot& bot) {
  auto me = co_await api.get_me();
  bot.set_bot_username(me.value("username", ""));
}

billing::BillingOptions billing_options(const Config& c) {
  billing::BillingOptions o;
  o.trial_days = c.trial_days;
  o.trial_device_limit = c.trial_device_limit;
  o.order_ttl = Millis(c.order_ttl_ms);
  o.referral_percents = c.referral_percents;
  o.cashback_percent = c.cashback_percent;
  o.referral_bonus_days = c.referral_bonus_days;
  o.expiry_grace = Millis(c.expiry_grace_ms);
  return o;
}

std::string trimmed_public_url(const Config& c) {
  std::string base = c.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

billing::PaymentWebhookOptions payment_webhook_options(const Config& c) {
  billing::PaymentWebhookOptions o;
  auto methods = c.enabled_payment_methods();
  auto enabled = [&](const char* m) { return std::find(methods.begin(), methods.end(), m) != methods.end(); };
  o.yookassa = enabled("yookassa");
  o.heleket = enabled("heleket");
  o.yookassa_networks =
      http::parse_networks(c.yookassa_allowed_ips.empty() ? billing::kYooKassaNetworks : c.yookassa_allowed_ips);
  o.heleket_networks = http::parse_networks(c.heleket_allowed_ips);
  o.trusted_proxies = http::parse_networks(c.trusted_proxies);
  o.heleket_api_key = c.heleket_api_key;
  return o;
}

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
    roles.metrics = std::make_unique<Metrics>();
    auto* metrics = roles.metrics.get();
    auto observe = [metrics](const std::string& route, int status, double seconds) {
      metrics->observe_request(route, status, seconds);
    };
    if (config.has_role("gateway")) {
      // What the reverse proxy publishes: Telegram's and the providers' webhooks and a liveness probe, nothing
      // that tells an anonymous client about the business or costs a database query.
      roles.router = std::make_unique<http::Router>();
      add_liveness_route(*roles.router);
      billing::add_payment_webhook_routes(*roles.router, pool, payment_webhook_options(config),
                                          roles.payment_webhook_stats);
      roles.server = std::make_unique<http::Server>(
          ex,
          http::ServerOptions{config.http_listen, static_cast<size_t>(config.http_body_limit_bytes),
                              Millis(config.http_read_timeout_ms), Millis(config.http_idle_timeout_ms), observe,
                              static_cast<size_t>(config.http_max_connections)},
          *roles.router);
      roles.metrics->set_server_stats(&roles.server->stats());
    }
    if (config.health_listen) {
      roles.internal_router = std::make_unique<http::Router>();
      add_internal_routes(*roles.internal_router, pool);
      bool gateway = config.has_role("gateway");
      roles.metrics->add_route(*roles.internal_router, pool, gateway ? &roles.ingest_stats : nullptr,
                               gateway ? &roles.payment_webhook_stats : nullptr);
      roles.internal_server = std::make_unique<http::Server>(
          ex,
          http::ServerOptions{*config.health_listen, 4096, Millis(config.http_read_timeout_ms),
                              Millis(config.http_idle_timeout_ms), observe, 256},
          *roles.internal_router);
    } else {
      log::info("app", "health_listen is not set: /readyz and /metrics are not served");
    }
    if (config.telegram_mode != "off" || config.has_role("worker")) {
      roles.http_client = std::make_unique<http::Client>(
          ex, http::ClientOptions{config.http_proxy, Millis(config.http_client_timeout_ms), Millis(10000),
                                  config.http_client_max_connections});
    }
    if (config.telegram_mode != "off") {
      roles.bot_api =
          std::make_unique<telegram::BotApi>(*roles.http_client, config.telegram_api_url, config.telegram_token);
    }
    if (config.has_role("gateway") && config.telegram_mode == "webhook") {
      roles.inbox_writer = std::make_unique<telegram::InboxWriter>(ex, pool);
      telegram::add_webhook_route(*roles.router, pool, *roles.inbox_writer, config.telegram_webhook_secret,
                                  roles.ingest_stats);
      auto* api = roles.bot_api.get();
      track(retry_in_background(
                "webhook registration", [&config, api] { return register_webhook(config, *api); }, roles.stopping),
            "webhook-registration");
    }
    if (config.has_role("gateway") && config.telegram_mode == "polling") {
      roles.poller = std::make_unique<telegram::Poller>(
          ex, pool, *roles.bot_api,
          telegram::PollerOptions{config.instance_id, Millis(config.lease_ttl_ms), config.telegram_poll_timeout_s, {}});
      track(roles.poller->run(), "telegram-poller");
    }
    if (roles.server) roles.server->start();
    if (roles.internal_server) roles.internal_server->start();
    if (config.has_role("worker")) {
      roles.worker = std::make_unique<jobs::Worker>(
          ex, pool,
          jobs::WorkerOptions{config.instance_id, config.worker_concurrency, Millis(config.job_lease_ms),
                              Millis(config.job_poll_interval_ms)});
      register_housekeeping_handlers(*roles.worker, config.retention_days);
      roles.secret_box = std::make_unique<vpn::SecretBox>(vpn::SecretBox::from_file(config.master_key_file, false));
      roles.billing_options = billing_options(config);
      const auto& billing = roles.billing_options;
      std::string return_url = config.yookassa_return_url.empty() ? config.public_url : config.yookassa_return_url;
      roles.yookassa = std::make_unique<billing::YooKassa>(
          *roles.http_client,
          billing::YooKassaOptions{config.yookassa_api_url, config.yookassa_shop_id, config.yookassa_secret_key,
                                   return_url, config.yookassa_vat_code, config.yookassa_receipt_email});
      roles.heleket = std::make_unique<billing::Heleket>(
          *roles.http_client,
          billing::HeleketOptions{config.heleket_api_url, config.heleket_merchant, config.heleket_api_key,
                                  trimmed_public_url(config) + billing::kHeleketWebhookPath, return_url,
                                  static_cast<int>(std::clamp(config.order_ttl_ms / 1000, 300, 43200))});
      billing::BillingJobDeps billing_deps;
      billing_deps.options = &roles.billing_options;
      billing_deps.yookassa = roles.yookassa->configured() ? roles.yookassa.get() : nullptr;
      billing_deps.heleket = roles.heleket->configured() ? roles.heleket.get() : nullptr;
      billing_deps.bot_api = roles.bot_api.get();
      vpn::AfterProvision after_provision;
      if (roles.bot_api) {
        std::set<int64_t> admins(config.admin_ids.begin(), config.admin_ids.end());
        bot::BotOptions bot_options;
        bot_options.admin_ids = admins;
        bot_options.secret_box = roles.secret_box.get();
        bot_options.billing = billing;
        bot_options.payment_methods = config.enabled_payment_methods();
        bot_options.default_device_limit = config.trial_device_limit;
        roles.bot = std::make_unique<bot::Bot>(std::move(bot_options), bot::Catalog::embedded());
        auto* the_bot = roles.bot.get();
        billing_deps.notifier = the_bot->notifier();
        after_provision = [the_bot](db::Transaction& tx, int64_t user_id, int64_t peer_id, bool) {
          return the_bot->deliver_config_to(tx, user_id, peer_id);
        };
        roles.dispatcher = std::make_unique<telegram::Dispatcher>(
            ex, pool, [the_bot](db::Transaction& tx, const telegram::InboxUpdate& u) { return the_bot->handle(tx, u); },
            [the_bot, &pool](const telegram::InboxUpdate& u) { return the_bot->apologise(pool, u); },
            telegram::DispatcherOptions{config.instance_id, config.worker_concurrency, Millis(config.job_lease_ms),
                                        Millis(config.job_poll_interval_ms), config.telegram_update_max_attempts});
        roles.sender_lease = std::make_unique<jobs::LeaderLease>(ex, pool, "telegram-sender", config.instance_id,
                                                                 Millis(config.lease_ttl_ms));
        auto* sender_lease = roles.sender_lease.get();
        telegram::SenderOptions sender_options;
        // Unique per process run, even when instance_id is fixed: rows locked by any other owner belong to a
        // sender that is gone (this one holds the lease), so its at-least-once rows can go out again at once.
        sender_options.owner = config.instance_id + "/" + std::to_string(std::random_device{}());
        sender_options.limits = {config.telegram_global_rate,
                                 1000.0 / std::max(1, config.telegram_private_chat_interval_ms),
                                 config.telegram_group_rate_per_min, config.telegram_private_chat_burst};
        sender_options.send_timeout = Millis(config.telegram_send_timeout_ms);
        // A call holds its slot for its round trip + 1 s: paid broadcasts (up to 1000/s) need more calls at once.
        sender_options.max_in_flight = std::max(32, config.telegram_global_rate / 8);
        sender_options.allow_paid_broadcast = config.telegram_allow_paid_broadcast;
        sender_options.may_send = [sender_lease] { return sender_lease->held(); };
        roles.sender = std::make_unique<telegram::Sender>(ex, pool, *roles.bot_api, sender_options);
        auto* sender = roles.sender.get();
        if (roles.metrics) roles.metrics->set_sender_stats(&sender->stats());
        roles.sender_lease->on_acquired = [sender] { sender->lease_acquired(); };
        auto* api = roles.bot_api.get();
        track(retry_in_background(
                  "getMe", [api, the_bot] { return learn_bot_username(*api, *the_bot); }, roles.stopping),
              "bot-username");
        track(roles.dispatcher->run(), "dispatcher");
        track(roles.sender_lease->run(), "sender-lease");
        track(roles.sender->run(), "sender");
      }
      vpn::register_job_handlers(*roles.worker, *roles.secret_box, Millis(config.vpn_address_grace_ms),
                                 after_provision);
      billing::register_job_handlers(*roles.worker, std::move(billing_deps));
      broadcast::register_job_handlers(*roles.worker);
      if (roles.bot)
        bot::register_reminder_jobs(*roles.worker, *roles.bot,
                                    bot::ReminderOptions{config.reminder_hours, Millis(config.reminder_lookback_ms),
                                                         Millis(config.auto_renew_before_ms)});
      auto* worker = roles.worker.get();
      auto* dispatcher = roles.dispatcher.get();
      auto* sender = roles.sender.get();
      roles.listener = std::make_unique<db::Listener>(
          pool.blocking_executor(), config.database_listen_url,
          std::vector<std::string>{jobs::kNotifyChannel, telegram::Dispatcher::kNotifyChannel,
                                   telegram::Outbox::kNotifyChannel},
          [worker, dispatcher, sender](const db::Notification& n) {
            if (n.channel == jobs::kNotifyChannel) worker->wake();
            if (dispatcher && n.channel == telegram::Dispatcher::kNotifyChannel) dispatcher->wake();
            if (sender && n.channel == telegram::Outbox::kNotifyChannel) sender->wake();
          },
          [worker, dispatcher, sender] {
            worker->wake();
            if (dispatcher) dispatcher->wake();
            if (sender) sender->wake();
          });
      track(roles.listener->run(), "listener");
      track(roles.worker->run(), "worker");
    }
    if (config.has_role("scheduler")) {
      roles.queue = std::make_unique<jobs::Queue>(pool);
      roles.scheduler_lease =
          std::make_unique<jobs::LeaderLease>(ex, pool, "scheduler", config.instance_id, Millis(config.lease_ttl_ms));
      auto tasks = housekeeping_tasks();
      for (auto& t : vpn::periodic_tasks()) tasks.push_back(std::move(t));
      for (auto& t : billing::periodic_tasks()) tasks.push_back(std::move(t));
      for (auto& t : broadcast::periodic_tasks()) tasks.push_back(std::move(t));
      for (auto& t : bot::reminder_tasks()) tasks.push_back(std::move(t));
      auto origin = config.scheduler_time_origin_ms
                        ? std::chrono::system_clock::time_point(Millis(config.scheduler_time_origin_ms))
                        : std::chrono::system_clock::now();
      roles.scheduler = std::make_unique<jobs::Scheduler>(ex, *roles.queue, *roles.scheduler_lease, std::move(tasks),
                                                          jobs::scaled_clock(config.scheduler_time_scale, origin),
                                                          Millis(config.scheduler_tick_ms));
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
  if (roles.internal_server) co_await roles.internal_server->shutdown(Millis(config.http_shutdown_grace_ms));
  if (roles.scheduler) roles.scheduler->stop();
  if (roles.scheduler_lease) roles.scheduler_lease->stop();
  roles.stopping = true;
  if (roles.poller) roles.poller->stop();
  if (roles.dispatcher) roles.dispatcher->stop();
  if (roles.sender) roles.sender->stop();
  if (roles.sender_lease) roles.sender_lease->stop();
  if (roles.worker) roles.worker->stop();
  if (roles.listener) roles.listener->stop();
  if (running > 0) co_await all_stopped.wait_for(Millis(config.http_shutdown_grace_ms + config.job_lease_ms));
  pool.close();
  log::info("app", "stopped", {{"exit_code", exit_code}});
}

}  // namespace

int serve(const Config& config) {
  // Workers create and deliver configs whose private keys are sealed under the master key: refuse to start
  // without it rather than fail on the first purchase.
  if (config.has_role("worker") && config.master_key_file.empty())
    throw ConfigError("config: master_key_file (env VPNBOT_MASTER_KEY_FILE) is required by the worker role");
  if (config.has_role("worker")) vpn::SecretBox::from_file(config.master_key_file, false);  // readable, 0600
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
          log::info(
              "migrate", "status",
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

int seed_sandbox(const Config& config) {
  auto box = vpn::SecretBox::from_file(config.master_key_file, false);
  return admin::run_db(config, [&box](db::Pool& pool) -> awaitable<int> {
    co_await admin::seed_demo_data(pool, box);
    co_return 0;
  });
}

}  // namespace vpnbot::app
