// Broadcast throughput side by side with its configured limit (original risk 4: a Python loop over all users):
// 50,000 recipients fanned out by keyset pages into the outbox and sent by the one rate-limited sender to the
// Telegram emulator with Telegram's limits scaled up (1000/s, as with paid broadcasts). Prints the achieved rate
// against the limit, the 429s, the emulator's count of limit violations and the process's peak RSS.
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "bench_support.hpp"
#include "broadcast/broadcasts.hpp"
#include "core/log.hpp"
#include "emulator/emulator_thread.hpp"
#include "http/client.hpp"
#include "telegram/outbox.hpp"

using namespace vpnbot;
using vpnbot::bench::row;
using vpnbot::bench::run_until_done;

namespace {

long peak_rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Broadcast benchmark"};
  int users = 50000, rate = 1000;
  app.add_option("--users", users, "recipients");
  app.add_option("--rate", rate, "messages per second allowed by the emulator and configured in the sender");
  CLI11_PARSE(app, argc, argv);
  if (sodium_init() < 0) return 1;
  log::init("warning");
  std::cout << "\n| benchmark (broadcast) | value |\n|---|---:|" << std::endl;
  emulator::TelegramEmulatorOptions emulator_options;
  emulator_options.global_per_second = rate;
  emulator::TelegramEmulatorThread telegram(emulator_options);
  bench::BenchDatabase database(2, 8);
  auto& io = database.io;
  auto& pool = database.pool;
  http::ClientOptions client_options;
  client_options.max_connections = 256;
  http::Client client(io.get_executor(), client_options);
  auto post = [&](std::string path, nlohmann::json body) -> awaitable<std::string> {
    http::ClientRequest r;
    r.method = body.is_null() ? "GET" : "POST";
    r.url = telegram.base_url() + path;
    r.body = body.is_null() ? "" : body.dump();
    auto response = co_await client.send(std::move(r));
    co_return response.body;
  };
  run_until_done(io, post("/client/users", {{"from", 1000000}, {"count", users}}));
  run_until_done(io, pool.exec("INSERT INTO users (id, referral_code, started_at) SELECT g, 'b' || g, now() FROM "
                               "generate_series(1000000, 1000000 + $1 - 1) g",
                               users));
  // Fan-out: what the broadcast.fanout job does, timed on its own.
  auto id = run_until_done(io, pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
    broadcast::BroadcastSpec spec;
    spec.text = "<b>News</b>: new locations are online";
    auto created = co_await broadcast::Broadcasts::create(tx, spec);
    co_await broadcast::Broadcasts::start(tx, created, std::nullopt);
    co_return created;
  }));
  auto t = Clock::now();
  int64_t queued = 0;
  for (;;) {
    auto n = run_until_done(io, pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
      co_return co_await broadcast::Broadcasts::fan_out_batch(tx, id, 1000);
    }));
    if (n <= 0) break;
    queued += n;
    if (n < 1000) break;
  }
  double fanout_s = std::chrono::duration<double>(Clock::now() - t).count();
  row("fan-out into the outbox (keyset pages of 1000)",
      fmt::format("{} recipients in {:.2f} s ({:.0f}/s)", queued, fanout_s, queued / fanout_s));

  telegram::BotApi api(client, telegram.base_url(), telegram.token());
  telegram::SenderOptions options;
  options.owner = "bench";
  options.limits = {rate, 1.0, 20};
  options.max_in_flight = std::max(32, rate / 8);  // as serve sets it
  options.may_send = [] { return true; };
  telegram::Sender sender(io.get_executor(), pool, api, options);
  sender.start();
  run_until_done(io, [&]() -> awaitable<int> {
    for (;;) {
      auto r = co_await pool.exec(
          "SELECT count(*) FROM outbox WHERE broadcast_id = $1 AND state IN ('pending', 'sending')", id);
      if (r.get<int64_t>(0, 0) == 0) co_return 0;
      co_await sleep_for(Millis(200));
    }
  }());
  auto span = run_until_done(io, pool.exec("SELECT count(*), extract(epoch FROM max(sent_at) - min(sent_at)) FROM "
                                           "outbox WHERE broadcast_id = $1 AND state = 'sent'",
                                           id));
  int64_t sent = span.get<int64_t>(0, 0);
  double seconds = span.get<double>(0, 1);
  double achieved = (sent - 1) / seconds;
  run_until_done(io, [&]() -> awaitable<int> {
    co_await sender.stop(Clock::now() + Millis(5000));
    co_return 0;
  }());
  auto stats = nlohmann::json::parse(run_until_done(io, post("/client/stats", nullptr)));
  row("messages sent", fmt::format("{} in {:.1f} s", sent, seconds));
  row(fmt::format("achieved rate / configured limit ({}/s; goal >= 95%)", rate),
      fmt::format("{:.0f}/s = {:.1f}%", achieved, 100.0 * achieved / rate));
  row("429 answers from the emulator (goal 0)", std::to_string(sender.stats().rate_limited));
  row("limit violations counted by the emulator (global, per chat)",
      fmt::format("{}, {}", stats["global_violations"].get<int>(), stats["per_chat_violations"].get<int>()));
  row("peak RSS of this process (sender + fan-out + emulator + 50k-user emulator state)",
      fmt::format("{:.1f} MB", peak_rss_kb() / 1024.0));
  return 0;
}
