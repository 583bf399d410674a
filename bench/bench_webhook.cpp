// Webhook ingest vs a static 200 route on the same server, measured with wrk in one run (original risks 5, 12):
// the webhook verifies the secret, stores the update and answers; nothing else happens in the request.
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <regex>
#include <thread>

#include "http/client.hpp"

#include "bench_support.hpp"
#include "core/log.hpp"
#include "db/local_cluster.hpp"
#include "db/migrations.hpp"
#include "support/build_paths.hpp"
#include "telegram/ingest.hpp"

using namespace vpnbot;

namespace {

struct WrkResult {
  double rps = 0, p50_ms = 0, p99_ms = 0;
  std::string raw;
};

double to_ms(const std::string& value, const std::string& unit) {
  double v = std::stod(value);
  if (unit == "us") return v / 1000;
  if (unit == "s") return v * 1000;
  return v;
}

WrkResult run_wrk(const std::string& args) {
  WrkResult r;
  FILE* p = popen(("wrk " + args + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("cannot run wrk (apt-get install wrk)");
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) r.raw += buf;
  if (pclose(p) != 0) throw std::runtime_error("wrk failed:\n" + r.raw);
  std::smatch m;
  if (std::regex_search(r.raw, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) r.rps = std::stod(m[1]);
  if (std::regex_search(r.raw, m, std::regex(R"(\s50%\s+([0-9.]+)(us|ms|s))"))) r.p50_ms = to_ms(m[1], m[2]);
  if (std::regex_search(r.raw, m, std::regex(R"(\s99%\s+([0-9.]+)(us|ms|s))"))) r.p99_ms = to_ms(m[1], m[2]);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"webhook ingest benchmark"};
  int seconds = 5, connections = 32;
  std::string script = std::string(vpnbot::testing::kSourceDir) + "/bench/webhook_post.lua";
  app.add_option("--seconds", seconds, "duration of each wrk run");
  app.add_option("--connections", connections, "concurrent connections");
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return 1;
  log::init("warning");

  bench::BenchDatabase database(2, 8);
  auto& io = database.io;
  auto& pool = database.pool;
  io.restart();

  http::Router router;
  telegram::IngestStats stats;
  const std::string secret = "bench-secret";
  telegram::InboxWriter writer(io.get_executor(), pool);
  telegram::add_webhook_route(router, pool, writer, secret, stats);
  router.add(http::bhttp::verb::post, "/static", [](http::Request&) -> awaitable<http::Response> {
    co_return http::make_response(http::bhttp::status::ok, "{\"ok\":true}", "application/json");
  });
  http::Server server(io.get_executor(), http::ServerOptions{{"127.0.0.1", 0}}, router);
  server.start();
  auto guard = asio::make_work_guard(io);
  std::thread loop([&] { io.run(); });

  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  std::string common = fmt::format("-t2 -c{} -d{}s --latency -s {} ", connections, seconds, script);
  auto static_result = run_wrk(common + base + "/static -- " + secret);
  auto webhook_result = run_wrk(common + base + telegram::kWebhookPath + " -- " + secret);

  auto [static_p50, static_p99] = bench::fixed_rate(base + "/static", secret, 1000, seconds, 0);
  auto [hook_p50, hook_p99] = bench::fixed_rate(base + telegram::kWebhookPath, secret, 1000, seconds, 900000000);

  asio::post(io, [&] { io.stop(); });
  loop.join();
  std::cout << "\n| benchmark (webhook ingest, wrk -c" << connections << ", " << seconds
            << " s each) | value |\n|---|---:|\n";
  std::cout << fmt::format("| static 200 route: requests/s | {:.0f} |\n", static_result.rps);
  std::cout << fmt::format("| static 200 route: p50 / p99 latency | {:.2f} ms / {:.2f} ms |\n", static_result.p50_ms,
                           static_result.p99_ms);
  std::cout << fmt::format("| webhook ingest (secret + INSERT + 200): requests/s | {:.0f} |\n", webhook_result.rps);
  std::cout << fmt::format("| webhook ingest: p50 / p99 latency | {:.2f} ms / {:.2f} ms |\n", webhook_result.p50_ms,
                           webhook_result.p99_ms);
  std::cout << fmt::format("| ratio webhook / static | {:.2f} |\n", webhook_result.rps / static_result.rps);
  std::cout << fmt::format("| at a fixed 1000 req/s: static p50 / p99 | {:.2f} ms / {:.2f} ms |\n", static_p50,
                           static_p99);
  std::cout << fmt::format("| at a fixed 1000 req/s: webhook ingest p50 / p99 | {:.2f} ms / {:.2f} ms |\n", hook_p50,
                           hook_p99);
  std::cout << fmt::format("| updates stored (unique) / duplicates | {} / {} |\n", stats.stored, stats.duplicates);
  return 0;
}
