#include "app/serve.hpp"

#include <algorithm>
#include <csignal>
#include <random>

#include "admin/run_db.hpp"
#include "app/demo_data.hpp"
#include "app/housekeeping.hpp"
#include "app/metrics.hpp"
#include "billing/cryptopay/provider.hpp"
#include "billing/heleket/provider.hpp"
#include "billing/jobs.hpp"
#include "billing/stars/provider.hpp"
#include "billing/webhooks.hpp"
#include "billing/yookassa/provider.hpp"
#include "bot/bot.hpp"
#include "bot/reminders.hpp"
#include "broadcast/broadcasts.hpp"
#include "core/asio.hpp"
#include "core/component.hpp"
#include "core/event.hpp"
#include "core/log.hpp"
#include "db/listener.hpp"
#include "db/migrations.hpp"
#include "db/pool.hpp"
#include "http/server.hpp"
#include "http/url.hpp"
#include "jobs/lease.hpp"
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"
#include "ops/backup_jobs.hpp"
#include "support/jobs.hpp"
#include "telegram/dispatcher.hpp"
#include "telegram/inbox_writer.hpp"
#include "telegram/ingest.hpp"
#include "telegram/outbox.hpp"
#include "vpn/jobs.hpp"
#include "vpn/remnawave/apps.hpp"
#include "vpn/remnawave/jobs.hpp"
#include "vpn/remnawave/open_page.hpp"

namespace vpnbot::app {
namespace {

db::PoolOptions pool_options(const Config& c) {
  return {c.db.url,
          c.db.pool_max,
          c.db.pool_queue_max,
          Millis(c.db.acquire_timeout_ms),
          Millis(c.db.connect_timeout_ms),
          Millis(c.db.query_timeout_ms),
          Millis(c.db.transaction_timeout_ms)};
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

// Registers the webhook with Telegram (url, secret, max_connections, allowed_updates).
awaitable<void> register_webhook(const Config& config, telegram::BotApi& api) {
  telegram::WebhookSettings settings;
  settings.url = http::join_url(config.http.public_url, telegram::kWebhookPath);
  settings.secret_token = config.telegram.webhook_secret;
  settings.max_connections = config.telegram.webhook_max_connections;
  settings.allowed_updates = {"message", "callback_query", "my_chat_member", "pre_checkout_query"};
  co_await api.set_webhook(settings);
  log::info("telegram", "webhook registered", {{"url", settings.url}});
}

// Learns the bot's @username (for referral links).
// A support ticket's topic in the support group: its message_thread_id.
awaitable<int64_t> create_forum_topic(telegram::BotApi* api, int64_t chat_id, std::string name) {
  if (!api) throw std::runtime_error("support tickets need Telegram (telegram_mode is off)");
  telegram::json params{{"chat_id", chat_id}, {"name", name}};
  auto topic = co_await api->call("createForumTopic", std::move(params), Millis(10000));
  if (!topic.is_object() || !topic.contains("message_thread_id") || !topic["message_thread_id"].is_number_integer())
    throw std::runtime_error("createForumTopic answered without a message_thread_id: " + topic.dump());
  co_return topic["message_thread_id"].get<int64_t>();
}

awaitable<void> learn_bot_username(telegram::BotApi& api, bot::Bot& bot) {
  auto me = co_await api.get_me();
  bot.set_bot_username(me.value("username", ""));
}

billing::BillingOptions billing_options(const Config& c) {
  billing::BillingOptions o;
  o.trial_days = c.billing.trial_days;
  o.trial_device_limit = c.billing.trial_device_limit;
  o.order_ttl = Millis(c.billing.order_ttl_ms);
  o.receipt_waits_for_config = Millis(c.billing.receipt_wait_ms);
  o.referral_percents = c.billing.referral_percents;
  o.cashback_percent = c.billing.cashback_percent;
  o.referral_bonus_days = c.billing.referral_bonus_days;
  o.expiry_grace = Millis(c.billing.expiry_grace_ms);
  return o;
}

std::string trimmed_public_url(const Config& c) {
  return http::join_url(c.http.public_url, "");
}

// Every payment provider this build knows, each built from its own settings; configured() decides which are offered
// at checkout and which webhook routes are served.
void add_payment_providers(billing::PaymentProviders& providers, const Config& config, http::Client& client,
                           telegram::BotApi* api) {
  const auto& b = config.billing;
  int invoice_lifetime_s = static_cast<int>(std::clamp(b.order_ttl_ms / 1000, 300, 43200));
  std::string return_url = b.yookassa.return_url.empty() ? config.http.public_url : b.yookassa.return_url;
  providers.add<billing::YooKassaProvider>(client, b.yookassa, config.http.public_url);
  providers.add<billing::HeleketProvider>(client, b.heleket, trimmed_public_url(config) + billing::kHeleketWebhookPath,
                                          return_url, invoice_lifetime_s);
  providers.add<billing::CryptoPayProvider>(client, b.cryptopay, invoice_lifetime_s);
  providers.add<billing::StarsProvider>(api);
}

// What the gateway publishes and counts: Telegram's and the providers' webhooks and a liveness probe.
struct PublicRoutes {
  http::Router router;
  billing::PaymentWebhookStats payments;
  telegram::IngestStats ingest;
};

// An HTTP listener as a component: it listens on start (after everything it serves is up) and drains on stop.
class ServerComponent : public Component {
 public:
  ServerComponent(std::string name, asio::any_io_executor ex, http::ServerOptions options, const http::Router& router)
      : name_(std::move(name)), server_(ex, std::move(options), router) {}
  std::string name() const override { return name_; }
  void start() override { server_.start(); }
  awaitable<void> stop(Clock::time_point deadline) override {
    auto grace = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    co_await server_.shutdown(std::max(grace, Millis(0)));
  }
  http::Server& server() { return server_; }

 private:
  std::string name_;
  http::Server server_;
};

// Builds the process's components in dependency order: each references only components built before it, so the
// runtime starts them in this order and stops them in reverse (the listeners first, the leases last).
void build_components(ComponentRuntime& runtime, asio::any_io_executor ex, const Config& config, db::Pool& pool,
                      const LoopComponent::Fatal& fatal) {
  auto& metrics = runtime.add<Holder<Metrics>>("metrics").get();
  auto observe = [&metrics](const std::string& route, int status, double seconds) {
    metrics.observe_request(route, status, seconds);
  };
  bool gateway = config.has_role("gateway");
  bool telegram_on = config.telegram.mode != "off";
  auto& client =
      runtime
          .add<Holder<http::Client>>("http-client", ex,
                                     http::ClientOptions{config.http.proxy, Millis(config.http.client_timeout_ms),
                                                         Millis(10000), config.http.client_max_connections})
          .get();
  telegram::BotApi* api = nullptr;
  if (telegram_on)
    api =
        &runtime.add<Holder<telegram::BotApi>>("bot-api", client, config.telegram.api_url, config.telegram.token).get();
  auto& providers = runtime.add<Holder<billing::PaymentProviders>>("payment-providers").get();
  add_payment_providers(providers, config, client, api);
  PublicRoutes* routes = nullptr;
  if (gateway) {
    // Nothing that tells an anonymous client about the business or costs a database query.
    routes = &runtime.add<Holder<PublicRoutes>>("public-routes").get();
    add_liveness_route(routes->router);
    billing::add_payment_webhook_routes(routes->router, pool, providers, parse_networks(config.http.trusted_proxies),
                                        routes->payments);
    remnawave::add_open_app_route(routes->router, remnawave::parse_client_apps(config.vpn.panel_apps),
                                  remnawave::open_page_key(config.telegram.token));
  }
  http::Router* internal_router = nullptr;
  if (config.http.health_listen) {
    internal_router = &runtime.add<Holder<http::Router>>("internal-routes").get();
    add_internal_routes(*internal_router, pool);
    metrics.add_route(*internal_router, pool, routes ? &routes->ingest : nullptr, routes ? &routes->payments : nullptr);
  } else {
    log::info("app", "health_listen is not set: /readyz and /metrics are not served");
  }
  if (config.has_role("worker")) {
    auto& box =
        runtime.add<Holder<vpn::SecretBox>>("secret-box", vpn::SecretBox::from_file(config.vpn.master_key_file, false))
            .get();
    auto& billing = runtime.add<Holder<billing::BillingOptions>>("billing-options", billing_options(config)).get();
    billing::BillingJobDeps billing_deps;
    billing_deps.options = &billing;
    billing_deps.providers = &providers;
    vpn::AfterProvision after_provision;
    bot::Bot* the_bot = nullptr;
    telegram::Dispatcher* dispatcher = nullptr;
    telegram::Sender* sender = nullptr;
    if (api) {
      bot::BotOptions bot_options;
      bot_options.admin_ids = std::set<int64_t>(config.bot.admin_ids.begin(), config.bot.admin_ids.end());
      bot_options.secret_box = &box;
      bot_options.billing = billing;
      bot_options.payment_methods = config.billing.enabled_payment_methods();
      bot_options.save_cards = config.billing.yookassa.save_cards &&
                               std::count(bot_options.payment_methods.begin(), bot_options.payment_methods.end(),
                                          std::string("yookassa")) > 0;
      bot_options.default_device_limit = config.billing.trial_device_limit;
      bot_options.public_url = config.http.public_url;
      bot_options.panel_apps = remnawave::parse_client_apps(config.vpn.panel_apps);
      bot_options.open_page_key = remnawave::open_page_key(config.telegram.token);
      bot_options.budgets = config.budgets;
      bot_options.time_zone = config.bot.time_zone;
      bot_options.required_channels = config.bot.required_channels;
      bot_options.channel_cache = Millis(config.bot.channel_check_cache_ms);
      bot_options.recheck_channels = config.bot.channel_left_policy == "suspend_purchases";
      bot_options.channel_member = [api](std::string channel, int64_t user_id) {
        return bot::is_channel_member(*api, std::move(channel), user_id);
      };
      bot_options.support_chat_id = config.support.chat_id;
      bot_options.support_sla_minutes = config.support.sla_minutes;
      bot_options.rules_version = config.bot.rules_version;
      bot_options.rules_text = {{"en", config.bot.rules_text_en},
                                {"ru", config.bot.rules_text_ru},
                                {"uk", config.bot.rules_text_uk},
                                {"zh", config.bot.rules_text_zh}};
      the_bot = &runtime.add<Holder<bot::Bot>>("bot", std::move(bot_options), bot::Catalog::embedded()).get();
      billing_deps.notifier = the_bot->notifier();
      after_provision = [the_bot](db::Transaction& tx, int64_t user_id, int64_t peer_id, const std::string& key) {
        // A purchase's first config carries its receipt (when the receipt job has not sent it yet).
        return the_bot->deliver_config_to(tx, user_id, peer_id, billing::Orders::of_reference(key));
      };
      auto& sender_lease =
          runtime
              .add<RunStop<jobs::LeaderLease>>(
                  ex, "sender-lease", fatal,
                  std::make_unique<jobs::LeaderLease>(ex, pool, "telegram-sender", config.process.instance_id,
                                                      Millis(config.jobs.lease_ttl_ms)))
              .get();
      telegram::SenderOptions sender_options;
      // Unique per process run, even when instance_id is fixed: rows locked by any other owner belong to a
      // sender that is gone (this one holds the lease), so its at-least-once rows can go out again at once.
      sender_options.owner = config.process.instance_id + "/" + std::to_string(std::random_device{}());
      sender_options.limits = {config.telegram.global_rate,
                               1000.0 / std::max(1, config.telegram.private_chat_interval_ms),
                               config.telegram.group_rate_per_min, config.telegram.private_chat_burst};
      sender_options.send_timeout = Millis(config.telegram.send_timeout_ms);
      // Enough calls at once for paid broadcasts (up to 1000/s) at a busy API's response times.
      sender_options.max_in_flight = std::max(32, config.telegram.global_rate / 8);
      sender_options.allow_paid_broadcast = config.telegram.allow_paid_broadcast;
      sender_options.may_send = [&sender_lease] { return sender_lease.held(); };
      sender = &runtime.add<telegram::Sender>(ex, pool, *api, sender_options);
      metrics.set_sender_stats(&sender->stats());
      sender_lease.on_acquired = [sender] { sender->lease_acquired(); };
      dispatcher = &runtime.add<telegram::Dispatcher>(
          ex, pool, [the_bot](db::Transaction& tx, const telegram::InboxUpdate& u) { return the_bot->handle(tx, u); },
          [the_bot, &pool](const telegram::InboxUpdate& u) { return the_bot->apologise(pool, u); },
          telegram::DispatcherOptions{
              config.process.instance_id, config.jobs.worker_concurrency, Millis(config.jobs.job_lease_ms),
              Millis(config.jobs.poll_interval_ms), config.telegram.update_max_attempts,
              [the_bot, &pool](const telegram::InboxUpdate& u) { return the_bot->check_channels_before(pool, u); }});
      runtime.add<BackgroundRetry>(ex, "getMe", [api, the_bot] { return learn_bot_username(*api, *the_bot); });
    }
    auto& worker = runtime.add<jobs::Worker>(
        ex, pool,
        jobs::WorkerOptions{config.process.instance_id, config.jobs.worker_concurrency,
                            Millis(config.jobs.job_lease_ms), Millis(config.jobs.poll_interval_ms)});
    register_housekeeping_handlers(worker, config.jobs.retention_days);
    vpn::TrafficUsedUp wireguard_used_up;
    if (the_bot)
      wireguard_used_up = [the_bot](db::Transaction& tx, int64_t user_id) {
        return the_bot->tell_traffic_used_up(tx, user_id, true);
      };
    vpn::register_job_handlers(worker, box, Millis(config.vpn.address_grace_ms), after_provision,
                               std::move(wireguard_used_up));
    billing::register_job_handlers(worker, std::move(billing_deps));
    remnawave::PanelJobDeps panel_deps{&client, &box,   config.process.instance_id, Millis(config.vpn.panel_timeout_ms),
                                       nullptr, nullptr};
    if (the_bot) {
      panel_deps.deliver = [the_bot](db::Transaction& tx, int64_t user_id, int64_t account_id) {
        return the_bot->deliver_panel_link_to(tx, user_id, account_id);
      };
      panel_deps.used_up = [the_bot](db::Transaction& tx, int64_t user_id) {
        return the_bot->tell_traffic_used_up(tx, user_id, false);
      };
    }
    remnawave::register_job_handlers(worker, std::move(panel_deps));
    broadcast::register_job_handlers(worker);
    support::SupportJobOptions support_jobs{config.support.chat_id, config.support.sla_minutes, nullptr};
    int64_t support_chat = config.support.chat_id;
    support_jobs.create_topic = [api, support_chat](std::string name) {
      return create_forum_topic(api, support_chat, std::move(name));
    };
    if (the_bot)
      support_jobs.close_by_staff = [the_bot](db::Transaction& tx, int64_t ticket_id, std::string suffix) {
        return the_bot->close_ticket_by_staff(tx, ticket_id, std::move(suffix));
      };
    support::register_job_handlers(worker, std::move(support_jobs));
    ops::register_backup_jobs(worker, ops::BackupJobOptions{config.ops, config.db.listen_url, pool.blocking_executor(),
                                                            config.telegram.mode != "off"});
    if (the_bot)
      bot::register_reminder_jobs(
          worker, *the_bot,
          bot::ReminderOptions{config.bot.reminder_hours, Millis(config.bot.reminder_lookback_ms),
                               Millis(config.bot.auto_renew_before_ms)});
    auto* jobs_worker = &worker;
    runtime.add<RunStop<db::Listener>>(
        ex, "listener", fatal,
        std::make_unique<db::Listener>(
            pool.blocking_executor(), config.db.listen_url,
            std::vector<std::string>{jobs::kNotifyChannel, telegram::Dispatcher::kNotifyChannel,
                                     telegram::Outbox::kNotifyChannel},
            [jobs_worker, dispatcher, sender](const db::Notification& n) {
              if (n.channel == jobs::kNotifyChannel) jobs_worker->wake();
              if (dispatcher && n.channel == telegram::Dispatcher::kNotifyChannel) dispatcher->wake();
              if (sender && n.channel == telegram::Outbox::kNotifyChannel) sender->wake();
            },
            [jobs_worker, dispatcher, sender] {
              jobs_worker->wake();
              if (dispatcher) dispatcher->wake();
              if (sender) sender->wake();
            }));
  }

  if (gateway && config.telegram.mode == "webhook") {
    auto& writer = runtime.add<telegram::InboxWriter>(ex, pool);
    telegram::add_webhook_route(routes->router, pool, writer, config.telegram.webhook_secret, routes->ingest);
    runtime.add<BackgroundRetry>(ex, "webhook registration", [&config, api] { return register_webhook(config, *api); });
  }
  if (gateway && config.telegram.mode == "polling")
    runtime.add<RunStop<telegram::Poller>>(
        ex, "telegram-poller", fatal,
        std::make_unique<telegram::Poller>(
            ex, pool, *api,
            telegram::PollerOptions{
                config.process.instance_id, Millis(config.jobs.lease_ttl_ms), config.telegram.poll_timeout_s, {}}));

  if (config.has_role("scheduler")) {
    auto& queue = runtime.add<Holder<jobs::Queue>>("job-queue", pool).get();
    auto& lease = runtime
                      .add<RunStop<jobs::LeaderLease>>(
                          ex, "scheduler-lease", fatal,
                          std::make_unique<jobs::LeaderLease>(ex, pool, "scheduler", config.process.instance_id,
                                                              Millis(config.jobs.lease_ttl_ms)))
                      .get();
    auto tasks = housekeeping_tasks();
    for (auto& t : vpn::periodic_tasks()) tasks.push_back(std::move(t));
    for (auto& t : remnawave::periodic_tasks(Millis(config.vpn.panel_usage_interval_ms))) tasks.push_back(std::move(t));
    for (auto& t : billing::periodic_tasks()) tasks.push_back(std::move(t));
    for (auto& t : broadcast::periodic_tasks()) tasks.push_back(std::move(t));
    for (auto& t : bot::reminder_tasks()) tasks.push_back(std::move(t));
    for (auto& t : ops::backup_tasks(config.ops)) tasks.push_back(std::move(t));
    for (auto& t : support::periodic_tasks(config.support.chat_id)) tasks.push_back(std::move(t));
    auto origin = config.jobs.scheduler_time_origin_ms
                      ? std::chrono::system_clock::time_point(Millis(config.jobs.scheduler_time_origin_ms))
                      : std::chrono::system_clock::now();
    runtime.add<RunStop<jobs::Scheduler>>(
        ex, "scheduler", fatal,
        std::make_unique<jobs::Scheduler>(ex, queue, lease, std::move(tasks),
                                          jobs::scaled_clock(config.jobs.scheduler_time_scale, origin),
                                          Millis(config.jobs.scheduler_tick_ms)));
  }

  // The listeners last: they start once everything they serve runs, and stop first.
  if (internal_router)
    runtime.add<ServerComponent>(
        "internal-listener", ex,
        http::ServerOptions{*config.http.health_listen, 4096, Millis(config.http.read_timeout_ms),
                            Millis(config.http.idle_timeout_ms), observe, 256},
        *internal_router);
  if (gateway) {
    auto& server = runtime.add<ServerComponent>(
        "public-listener", ex,
        http::ServerOptions{config.http.listen, static_cast<size_t>(config.http.body_limit_bytes),
                            Millis(config.http.read_timeout_ms), Millis(config.http.idle_timeout_ms), observe,
                            static_cast<size_t>(config.http.max_connections)},
        routes->router);
    metrics.set_server_stats(&server.server().stats());
  }
}

awaitable<void> run_roles(const Config& config, db::Pool& pool, int& exit_code) {
  auto ex = co_await asio::this_coro::executor;
  asio::signal_set signals(ex, SIGINT, SIGTERM);
  bool crashed = false;
  // A component's loop that fails takes the process down so that its supervisor restarts it.
  LoopComponent::Fatal fatal = [&](const std::string& component, const std::string& error) {
    log::error("app", "component crashed", {{"component", component}, {"error", error}});
    exit_code = 1;
    crashed = true;
    signals.cancel();
  };
  ComponentRuntime runtime;
  try {
    co_await migrate_with_retry(pool);
    build_components(runtime, ex, config, pool, fatal);
    runtime.start();
    log::info("app", "serving", {{"roles", config.process.roles}, {"instance", config.process.instance_id}});
    boost::system::error_code ec;
    int signal = 0;
    if (!crashed) signal = co_await signals.async_wait(asio::redirect_error(use_awaitable, ec));
    log::info("app", "shutting down", {{"signal", ec ? 0 : signal}});
  } catch (const std::exception& e) {
    log::error("app", "startup failed", {{"error", e.what()}});
    exit_code = 1;
  }
  // In reverse: stop taking new work, finish what is in flight, then release the leases; the pool closes last.
  co_await runtime.stop(Clock::now() + Millis(config.http.shutdown_grace_ms));
  pool.close();
  log::info("app", "stopped", {{"exit_code", exit_code}});
}

}  // namespace

int serve(const Config& config) {
  // Workers create and deliver configs whose private keys are sealed under the master key: refuse to start
  // without it rather than fail on the first purchase.
  if (config.has_role("worker") && config.vpn.master_key_file.empty())
    throw ConfigError("config: master_key_file (env VPNBOT_MASTER_KEY_FILE) is required by the worker role");
  if (config.has_role("worker")) vpn::SecretBox::from_file(config.vpn.master_key_file, false);  // readable, 0600
  asio::io_context io(1);
  // Runs the rare libpq calls that block (DNS lookup in connect, cancel requests) off the event loop.
  asio::thread_pool blocking(2);
  db::Pool pool(io.get_executor(), blocking.get_executor(), pool_options(config));
  int exit_code = 0;
  bool finished = false;
  asio::co_spawn(io, run_roles(config, pool, exit_code), [&](std::exception_ptr e) {
    if (e) exit_code = 1;
    finished = true;
  });
  // Every component joined its coroutines before run_roles returned, so the loop runs out of work by itself; a
  // stray handler left behind is a bug: it is waited for briefly, then the process exits without tearing down
  // frames that could still reference the pool.
  while (!finished && !io.stopped()) io.run_one();
  io.run_for(Millis(2000));
  if (!io.stopped()) {
    log::error("app", "work still pending after shutdown; exiting without teardown");
    log::flush();
    std::_Exit(exit_code == 0 ? 1 : exit_code);
  }
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
        if (!e) return;
        log::error("migrate", "failed", {{"error", log::what(e)}});
        exit_code = 1;
      });
  io.run();
  blocking.join();
  return exit_code;
}

int seed_sandbox(const Config& config, std::optional<remnawave::PanelNodeSpec> panel) {
  auto box = vpn::SecretBox::from_file(config.vpn.master_key_file, false);
  return admin::run_db(config, [&box, &panel](db::Pool& pool) -> awaitable<int> {
    co_await seed_demo_data(pool, box, panel);
    co_return 0;
  });
}

}  // namespace vpnbot::app
