// Billing figures side by side in one run (original risks 5 and 9):
//   the referral upline as ONE recursive query vs a query per level (the original's N+1), at depth 3 and 10;
//   payments applied per second (the whole effect: order, subscription, promo, referral rewards, cashback, jobs)
//   and the cost of a replayed payment;
//   latency from a payment's commit to its config (peer row + .conf and QR queued for the user) through the real
//   worker, woken by NOTIFY.
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "bench_support.hpp"
#include "billing/jobs.hpp"
#include "billing/orders.hpp"
#include "billing/referral.hpp"
#include "bot/bot.hpp"
#include "core/log.hpp"
#include "db/listener.hpp"
#include "jobs/worker.hpp"
#include "vpn/jobs.hpp"
#include "vpn/store.hpp"

using namespace vpnbot;
using vpnbot::bench::row;
using vpnbot::bench::run_on;
using vpnbot::bench::seconds_since;

namespace {

// What the original did: one query per level.
awaitable<std::vector<int64_t>> upline_one_query_per_level(db::Transaction& tx, int64_t user, int depth) {
  std::vector<int64_t> out;
  for (int level = 0; level < depth; ++level) {
    auto r = co_await tx.exec("SELECT referrer_id FROM users WHERE id = $1", user);
    if (r.empty() || r.is_null(0, 0)) break;
    user = r.get<int64_t>(0, 0);
    out.push_back(user);
  }
  co_return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Billing benchmarks"};
  int payments = 2000;
  app.add_option("--payments", payments, "orders paid in the throughput run");
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return 1;
  log::init(getenv("BENCH_LOG") ? getenv("BENCH_LOG") : "warning");
  std::cout << "\n| benchmark (billing) | value |\n|---|---:|\n";
  bench::BenchDatabase database(2, 16);
  auto& io = database.io;
  auto& pool = database.pool;

  // 100,000 users in referral chains of 12 (each invited by the previous one).
  run_on(io, pool.query("INSERT INTO users (id, referral_code, referrer_id) SELECT g, 'u' || g, "
                        "CASE WHEN g % 12 = 1 THEN NULL ELSE g - 1 END FROM generate_series(1, 100000) g"));
  run_on(io, pool.query("ANALYZE users"));

  // 1. Upline: one recursive query vs a query per level, on a pooled connection each.
  for (int depth : {3, 10}) {
    const int calls = 2000;
    auto t = Clock::now();
    uint64_t queries = 0;
    for (int i = 0; i < calls; ++i) {
      int64_t user = 12 * (i % 8000) + 12;  // the bottom of a chain: the full depth exists
      queries += run_on(io, pool.transaction([&](db::Transaction& tx) -> awaitable<uint64_t> {
        uint64_t before = tx.queries_sent();
        co_await billing::Referrals::upline(tx, user, depth);
        co_return tx.queries_sent() - before;
      }));
    }
    double cte = seconds_since(t) / calls;
    t = Clock::now();
    for (int i = 0; i < calls; ++i) {
      int64_t user = 12 * (i % 8000) + 12;
      run_on(io, pool.transaction([&](db::Transaction& tx) -> awaitable<size_t> {
        auto up = co_await upline_one_query_per_level(tx, user, depth);
        co_return up.size();
      }));
    }
    double per_level = seconds_since(t) / calls;
    row(fmt::format("upline depth {}: recursive CTE", depth),
        fmt::format("{:.0f} us, {} query", cte * 1e6, queries / calls));
    row(fmt::format("upline depth {}: one query per level", depth),
        fmt::format("{:.0f} us, {} queries", per_level * 1e6, depth));
    row(fmt::format("ratio per-level / CTE (depth {})", depth), fmt::format("{:.1f}x", per_level / cte));
  }

  // 2. Payments applied per second, 16 at a time, each with 3 referral levels, cashback and follow-up jobs.
  billing::BillingOptions options;
  std::vector<billing::Order> orders;
  for (int i = 0; i < payments; ++i) {
    int64_t user = 12 * (i % 8000) + 12;
    orders.push_back(run_on(io, pool.transaction([&](db::Transaction& tx) -> awaitable<billing::Order> {
      co_return co_await billing::Orders::create(tx, user, 1, "yookassa", options);
    })));
  }
  auto apply_all = [&](int concurrency) {
    size_t next = 0;
    int running = 0;
    std::map<billing::PaymentResult, int> results;
    auto t = Clock::now();
    std::function<void()> launch = [&] {
      while (running < concurrency && next < orders.size()) {
        auto o = orders[next++];
        ++running;
        asio::co_spawn(io, pool.transaction([&, o](db::Transaction& tx) -> awaitable<billing::PaymentResult> {
          std::string provider = "yookassa", id = "p" + std::to_string(o.id), currency = "RUB";
          co_return co_await billing::Orders::apply_payment(tx, o.id, provider, id, o.amount, currency, false, options);
        }),
                       [&](std::exception_ptr e, billing::PaymentResult r) {
                         if (e) std::rethrow_exception(e);
                         ++results[r];
                         --running;
                         launch();
                       });
      }
    };
    launch();
    io.restart();
    io.run();
    return std::make_pair(seconds_since(t), results);
  };
  auto [first_s, first] = apply_all(16);
  auto [replay_s, replay] = apply_all(16);
  row("payments applied (16 concurrent, fsync on)",
      fmt::format("{:.0f}/s ({} applied)", payments / first_s, first[billing::PaymentResult::applied]));
  row("replayed payments (no effect)", fmt::format("{:.0f}/s ({} already applied)", payments / replay_s,
                                                   replay[billing::PaymentResult::already_applied]));

  // 3. Payment commit -> config queued for the user, through the worker (NOTIFY wakes it).
  vpn::SecretBox box(std::array<unsigned char, 32>{7});
  vpn::VpnStore store(pool, box);
  vpn::NodeSpec spec{"bench", "NL", "Amsterdam", "192.0.2.1", 51820, "wg0", "10.60.0.0/16", "", "1.1.1.1", 1420, 70000};
  run_on(io, store.add_node(spec));
  run_on(io, pool.query("DELETE FROM jobs"));
  bot::BotOptions bot_options;
  bot_options.secret_box = &box;
  bot::Bot bot(bot_options, bot::Catalog::embedded());
  jobs::Worker worker(io.get_executor(), pool, jobs::WorkerOptions{"bench-worker", 16, Millis(60000), Millis(1000)});
  vpn::register_job_handlers(worker, box, Millis(600000),
                             [&bot](db::Transaction& tx, int64_t user, int64_t peer, const std::string& key) {
                               return bot.deliver_config_to(tx, user, peer, billing::Orders::of_reference(key));
                             });
  billing::BillingJobDeps deps;
  deps.options = &options;
  billing::register_job_handlers(worker, deps);
  db::Listener listener(
      pool.blocking_executor(), database.cluster->url(), {jobs::kNotifyChannel},
      [&](const db::Notification&) { worker.wake(); }, [&] { worker.wake(); });
  asio::co_spawn(io, listener.run(), asio::detached);
  worker.start();
  const int samples = 200;
  std::vector<double> latencies;
  bench::run_until_done(
      io, pool.query("INSERT INTO users (id, referral_code) SELECT g, 'l' || g FROM generate_series(200001, "
                     "200000 + 200) g"));
  for (int i = 0; i < samples; ++i) {
    int64_t user = 200001 + i;
    auto order = bench::run_until_done(io, pool.transaction([&](db::Transaction& tx) -> awaitable<billing::Order> {
      co_return co_await billing::Orders::create(tx, user, 1, "stars", options);
    }));
    auto start = Clock::now();
    bench::run_until_done(io, pool.transaction([&](db::Transaction& tx) -> awaitable<billing::PaymentResult> {
      std::string provider = "stars", id = "s" + std::to_string(order.id), currency = "XTR";
      co_return co_await billing::Orders::apply_payment(tx, order.id, provider, id, order.amount, currency, false,
                                                        options);
    }));
    bench::run_until_done(io, [&]() -> awaitable<int> {
      for (;;) {
        auto r = co_await pool.exec(
            "SELECT count(*) FROM outbox WHERE chat_id = $1 AND method IN ('sendDocument', 'sendPhoto')", user);
        if (r.get<int64_t>(0, 0) == 2) co_return 0;
        co_await sleep_for(Millis(1));
      }
    }());
    latencies.push_back(seconds_since(start));
  }
  listener.stop();
  bench::run_until_done(io, [&]() -> awaitable<int> {
    co_await worker.stop(Clock::now() + Millis(1000));
    co_await sleep_for(Millis(500));  // the listener's loop notices its stop
    co_return 0;
  }());
  std::sort(latencies.begin(), latencies.end());
  row("payment commit -> config file + QR queued (p50)", fmt::format("{:.1f} ms", latencies[samples / 2] * 1e3));
  row("payment commit -> config file + QR queued (p99)", fmt::format("{:.1f} ms", latencies[samples * 99 / 100] * 1e3));
  return 0;
}
