// Pure pieces of the core: the bounded sampler of refused input and the log writer that never blocks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "core/encoding.hpp"
#include "core/json.hpp"
#include "core/local_time.hpp"
#include "core/log.hpp"
#include "core/sampler.hpp"
#include "http/url.hpp"

using namespace vpnbot;

TEST(Sampler, KeepsAFewPerKindAndMinuteAndCountsTheRest) {
  Sampler sampler(5);
  auto t0 = Clock::now();
  int kept = 0;
  for (int i = 0; i < 100000; ++i) kept += sampler.admit("heleket:bad_sign", t0 + std::chrono::microseconds(i)) ? 1 : 0;
  EXPECT_EQ(kept, 5);
  EXPECT_TRUE(sampler.admit("yookassa:foreign_ip", t0)) << "kinds are independent";
  EXPECT_EQ(sampler.take_suppressed("heleket:bad_sign"), 99995u);
  EXPECT_EQ(sampler.take_suppressed("heleket:bad_sign"), 0u);
  EXPECT_TRUE(sampler.admit("heleket:bad_sign", t0 + std::chrono::seconds(61))) << "a new minute, a new sample";
}

// stdout is a pipe nobody reads (a stuck log shipper): writing 100k lines returns promptly, the overflow is
// dropped and counted, and the lines still queued are written once the reader drains.
TEST(Log, ASlowReaderNeverBlocksTheWriter) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  fflush(stdout);
  int saved = ::dup(STDOUT_FILENO);
  ::dup2(pipe_fds[1], STDOUT_FILENO);
  log::use_writer_thread();
  auto started = Clock::now();
  for (int i = 0; i < 100000; ++i) log::info("test", "line", {{"i", i}});
  auto took = std::chrono::duration_cast<Millis>(Clock::now() - started);
  uint64_t dropped = log::dropped_lines();
  // Drain the pipe so the writer thread can finish, then restore stdout.
  std::thread reader([fd = pipe_fds[0]] {
    char buffer[65536];
    while (::read(fd, buffer, sizeof buffer) > 0) {
    }
  });
  log::flush();
  fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(pipe_fds[1]);
  reader.join();
  ::close(pipe_fds[0]);
  ::close(saved);
  std::cout << "100000 lines into a stuck pipe: " << took.count() << " ms, " << dropped << " dropped\n";
  EXPECT_LT(took, Millis(5000)) << "the caller was blocked by the reader";
  EXPECT_GT(dropped, 0u) << "the queue is bounded";
}

// Users' dates: the database's UTC text in the configured zone, with its daylight saving time and its abbreviation.
TEST(LocalClock, ShowsUtcTimestampsInTheZoneUsersLiveIn) {
  LocalClock moscow;  // the default
  EXPECT_EQ(moscow.zone_name(), "Europe/Moscow");
  EXPECT_EQ(moscow.show("2026-06-01 12:00"), "2026-06-01 15:00 MSK");
  EXPECT_EQ(moscow.show("2026-12-31 22:30"), "2027-01-01 01:30 MSK") << "past midnight: the next day and year";
  EXPECT_EQ(moscow.show_date("2026-12-31 22:30"), "2027-01-01");
  EXPECT_EQ(moscow.show("2026-12-31T22:30:59.123Z"), "2027-01-01 01:30 MSK") << "seconds ignored";
  LocalClock berlin("Europe/Berlin");
  EXPECT_EQ(berlin.show("2026-01-15 12:00"), "2026-01-15 13:00 CET");
  EXPECT_EQ(berlin.show("2026-07-15 12:00"), "2026-07-15 14:00 CEST");
  EXPECT_EQ(LocalClock("Asia/Tehran").show("2026-12-01 00:00"), "2026-12-01 03:30 +0330");
  EXPECT_EQ(LocalClock("UTC").show("2026-12-01 00:00"), "2026-12-01 00:00 UTC");
  // Not a timestamp: shown as it is, never an exception inside a message.
  for (std::string text : {"", "soon", "2026-13-01 00:00", "2026-02-30 10:00", "2026-12-01 25:00", "2026-12-01"})
    EXPECT_EQ(moscow.show(text), text);
  EXPECT_THROW(LocalClock("Mars/Olympus"), std::invalid_argument);
  EXPECT_THROW(LocalClock(""), std::invalid_argument);
}

TEST(Utf8, LengthCountsCharactersAndAPrefixNeverCutsOne) {
  EXPECT_EQ(utf8_length(""), 0u);
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("Привет"), 6u);
  EXPECT_EQ(utf8_length("🚧 ok"), 4u);
  EXPECT_EQ(utf8_prefix("Привет", 3), "При");
  EXPECT_EQ(utf8_prefix("🚧🚧", 1), "🚧");
  EXPECT_EQ(utf8_prefix("abc", 10), "abc");
  EXPECT_EQ(utf8_prefix("abc", 0), "");
}

TEST(Url, JoinUrlKeepsOneSlashBetweenAConfiguredBaseAndAPath) {
  EXPECT_EQ(http::join_url("https://pay.crypt.bot", "/api/createInvoice"), "https://pay.crypt.bot/api/createInvoice");
  EXPECT_EQ(http::join_url("https://pay.crypt.bot//", "/api/createInvoice"), "https://pay.crypt.bot/api/createInvoice");
  EXPECT_EQ(http::join_url("http://127.0.0.1:8080/", ""), "http://127.0.0.1:8080");
  EXPECT_EQ(http::join_url("", "/x"), "/x");
}

TEST(Url, OriginDropsPathQueryAndUserInfoWhereSecretsLive) {
  EXPECT_EQ(http::url_origin("https://api.telegram.org/bot123:SECRET/sendMessage"), "https://api.telegram.org");
  EXPECT_EQ(http::url_origin("http://127.0.0.1:8081/file/bot1:S/doc.txt?x=1"), "http://127.0.0.1:8081");
  EXPECT_EQ(http::url_origin("https://user:pass@panel.example:8443?token=t#f"), "https://panel.example:8443");
  EXPECT_EQ(http::url_origin("https://host"), "https://host");
  EXPECT_EQ(http::url_origin("host/path"), "host");
}

TEST(Log, WhatGivesAStdExceptionsMessageAndLetsAnythingElsePropagate) {
  EXPECT_EQ(log::what(std::make_exception_ptr(std::runtime_error("disk full"))), "disk full");
  EXPECT_THROW(log::what(std::make_exception_ptr(42)), int);
}

// Untrusted JSON: shapes that would recurse a million frames deep or insert 100k members into one object are refused
// at the limit, on a stack and in time bounded by the text; anything within the limits parses as nlohmann would.
TEST(Json, RefusesTooDeepAndTooWideBodiesAtTheLimitAndParsesEverythingWithin) {
  auto nested = [](size_t levels, const std::string& open, const std::string& close) {
    std::string text;
    for (size_t i = 0; i < levels; ++i) text += open;
    text += "1";
    for (size_t i = 0; i < levels; ++i) text += close;
    return text;
  };
  auto object_of = [](size_t members) {
    std::string text = "{";
    for (size_t i = 0; i < members; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
    return text + "}";
  };
  auto problem = [](const std::string& text, const JsonLimits& limits = {}) -> std::string {
    try {
      parse_json(text, limits);
      return "";
    } catch (const BadJson& e) {
      return e.what();
    }
  };
  const JsonLimits limits;
  EXPECT_EQ(problem(nested(limits.max_depth, "[", "]")), "");
  EXPECT_EQ(problem(nested(limits.max_depth + 1, "[", "]")), "nested deeper than 48 levels");
  EXPECT_EQ(problem(nested(limits.max_depth + 1, "{\"a\":", "}")), "nested deeper than 48 levels");
  // A million levels in 2 MB: without the limit nlohmann parses it, but its recursive dump or copy would not survive.
  EXPECT_EQ(problem(nested(1'000'000, "[", "]")), "nested deeper than 48 levels");
  EXPECT_EQ(problem(object_of(limits.max_members)), "");
  EXPECT_EQ(problem(object_of(limits.max_members + 1)), "an object has more than 1000 members");
  EXPECT_EQ(problem(object_of(100'000)), "an object has more than 1000 members");
  // Duplicate keys count too: width is members read, not members kept.
  std::string duplicates = "{";
  for (int i = 0; i < 1500; ++i) duplicates += i ? ",\"a\":1" : "\"a\":1";
  EXPECT_EQ(problem(duplicates + "}"), "an object has more than 1000 members");
  // Stored JSON keeps the depth cap only.
  EXPECT_EQ(problem(object_of(100'000), kStoredJsonLimits), "");
  EXPECT_EQ(problem(nested(49, "[", "]"), kStoredJsonLimits), "nested deeper than 48 levels");
  EXPECT_EQ(problem("{\"a\":1} trailing"), "not JSON (at byte 11)");
  EXPECT_EQ(problem("{\"a\":\"\xff\xfe\"}"), "not JSON (at byte 7)") << "invalid UTF-8 in a string";
  EXPECT_EQ(problem(""), "not JSON (at byte 1)");
  std::string escapes = "\"";
  for (int i = 0; i < 100'000; ++i) escapes += "\\u00e9\\n";
  EXPECT_EQ(parse_json(escapes + "\"").get<std::string>().size(), 300'000u) << "long runs of escapes parse";
  auto value = parse_json(R"({"a":[1,{"b":null}],"c":"d","e":1.5,"f":-2})");
  EXPECT_EQ(value, nlohmann::json::parse(R"({"a":[1,{"b":null}],"c":"d","e":1.5,"f":-2})"));
  EXPECT_TRUE(parse_json_or_discarded("[").is_discarded());
  EXPECT_TRUE(parse_json_or_discarded(nested(49, "[", "]")).is_discarded());
  EXPECT_EQ(parse_json_or_discarded("[1]"), nlohmann::json::array({1}));
}
