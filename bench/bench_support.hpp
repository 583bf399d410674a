#pragma once
#include <iostream>
#include <optional>
#include <string>

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <thread>
#include <vector>

#include "core/asio.hpp"
#include "core/event.hpp"
#include "db/local_cluster.hpp"
#include "db/migrations.hpp"
#include "db/pool.hpp"
#include "http/client.hpp"

namespace vpnbot::bench {

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// One row of a benchmark's Markdown table, flushed at once (a long run shows progress).
inline void row(const std::string& name, const std::string& value) {
  std::cout << "| " << name << " | " << value << " |" << std::endl;
}

// Runs one coroutine to completion on `io` (benchmarks drive the loop step by step) and rethrows its error.
template <typename T>
T run_on(asio::io_context& io, awaitable<T> task) {
  std::exception_ptr error;
  std::optional<T> value;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value = std::move(v);
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

// The same while background coroutines (a worker, a listener) keep the loop busy: runs until `task` finished.
template <typename T>
T run_until_done(asio::io_context& io, awaitable<T> task) {
  std::exception_ptr error;
  std::optional<T> value;
  bool done = false;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value = std::move(v);
    done = true;
  });
  io.restart();
  while (!done) io.run_one_for(Millis(100));
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

// A throwaway PostgreSQL with fsync on (figures include real commits), every migration applied, and a pool on
// `io`. Members are destroyed in reverse order: the pool before its executors, the cluster last.
struct BenchDatabase {
  BenchDatabase(int blocking_threads, int pool_size)
      : cluster(start_cluster()),
        blocking(blocking_threads),
        pool(io.get_executor(), blocking.get_executor(), db::PoolOptions{cluster->url(), pool_size, 100000}) {
    run_on(io, db::migrate(pool, db::embedded_migrations()));
  }
  static std::unique_ptr<db::LocalCluster> start_cluster() {
    auto c = std::make_unique<db::LocalCluster>(db::LocalCluster::Options{.fsync = true});
    c->start();
    return c;
  }
  std::unique_ptr<db::LocalCluster> cluster;
  asio::io_context io{1};
  asio::thread_pool blocking;
  db::Pool pool;
};

// Open-loop load: one request every 1/rate seconds regardless of answers (no coordinated omission);
// returns {p50, p99} latency in ms.
inline std::pair<double, double> fixed_rate(const std::string& url, const std::string& secret, int rate, int seconds,
                                            int64_t first_update_id) {
  asio::io_context io(1);
  http::Client client(io.get_executor(), http::ClientOptions{"", Millis(10000), Millis(2000), 256});
  std::vector<double> latencies;
  int total = rate * seconds, finished = 0;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        auto start = Clock::now();
        for (int i = 0; i < total; ++i) {
          asio::steady_timer t(ex, start + std::chrono::microseconds(1000000LL * i / rate));
          co_await t.async_wait(use_awaitable);
          int64_t id = first_update_id + i;
          asio::co_spawn(
              ex,
              [&, id]() -> awaitable<void> {
                http::ClientRequest r;
                r.method = "POST";
                r.url = url;
                r.headers = {{"Content-Type", "application/json"}, {"X-Telegram-Bot-Api-Secret-Token", secret}};
                r.body = fmt::format(
                    R"({{"update_id":{0},"message":{{"message_id":{0},"date":1,"chat":{{"id":{1},"type":"private"}},)"
                    R"("from":{{"id":{1},"is_bot":false,"first_name":"L"}},"text":"hi"}}}})",
                    id, 1000 + id % 500);
                auto sent = Clock::now();
                co_await client.send(std::move(r));
                latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
              },
              [&](std::exception_ptr) { ++finished; });
        }
        while (finished < total) co_await sleep_for(Millis(5));
      },
      asio::detached);
  io.run();
  std::sort(latencies.begin(), latencies.end());
  if (latencies.empty()) return {0, 0};
  return {latencies[latencies.size() / 2], latencies[latencies.size() * 99 / 100]};
}

// The p-quantile (0..1) of samples; 1.0 is the maximum.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

// Polls `condition` every 2 ms until it holds or `timeout` passes; false on timeout.
inline bool wait_for(const std::function<bool()>& condition, Millis timeout) {
  for (auto until = Clock::now() + timeout; Clock::now() < until; std::this_thread::sleep_for(Millis(2)))
    if (condition()) return true;
  return false;
}

// A blocking HTTP call for a benchmark's own bookkeeping (emulator client APIs, readiness): {status, body}.
inline std::pair<long, std::string> http_call(const std::string& method, const std::string& url,
                                              const std::string& body = "") {
  CURL* curl = curl_easy_init();
  std::string out;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (!body.empty()) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* sink) {
        static_cast<std::string*>(sink)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return {status, out};
}

}  // namespace vpnbot::bench
