// Integration tests of the async PostgreSQL layer against a real throwaway PostgreSQL 15.
#include <set>

#include "core/event.hpp"
#include "db/listener.hpp"
#include "support/pg_fixture.hpp"

using namespace vpnbot;
using vpnbot::testing::AsyncDbTest;

class PoolTest : public AsyncDbTest {};

TEST_F(PoolTest, QueryWithParametersAndTypes) {
  auto pool = make_pool();
  auto r =
      run(pool->exec("SELECT $1::int + 1 AS n, $2::text AS s, $3::text IS NULL AS is_null, $4::bool AS b, "
                     "$5::jsonb AS j",
                     41, std::string("héllo"), nullptr, true, nlohmann::json{{"k", 1}}));
  ASSERT_EQ(r.rows(), 1);
  EXPECT_EQ(r.get<int>(0, "n"), 42);
  EXPECT_EQ(r.get<std::string>(0, "s"), "héllo");
  EXPECT_TRUE(r.get<bool>(0, "is_null"));
  EXPECT_TRUE(r.get<bool>(0, "b"));
  EXPECT_EQ(r.get<nlohmann::json>(0, "j")["k"], 1);
  EXPECT_EQ(r.get<std::optional<int>>(0, "n"), 42);
}

TEST_F(PoolTest, ARowReadsIntoFieldsInSelectOrder) {
  auto pool = make_pool();
  auto r =
      run(pool->query("SELECT 7::bigint, 'x'::text, NULL::int, 3::int, true, to_json(ARRAY['a', 'b']), "
                      "to_json(ARRAY[1, 2]::bigint[])"));
  int64_t id = 0;
  std::string text;
  std::optional<int> missing = 5, present;
  bool flag = false;
  std::vector<std::string> words;
  std::vector<int64_t> numbers;
  r.read(0, id, text, missing, present, flag, words, numbers);
  EXPECT_EQ(id, 7);
  EXPECT_EQ(text, "x");
  EXPECT_EQ(missing, std::nullopt);
  EXPECT_EQ(present, 3);
  EXPECT_TRUE(flag);
  EXPECT_EQ(words, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(numbers, (std::vector<int64_t>{1, 2}));
  int extra = 0;
  EXPECT_THROW(r.read(0, id, text, missing, present, flag, words, numbers, extra), std::runtime_error)
      << "a mapper reading more columns than the select list has is a clear error";
  int not_null = 0;
  EXPECT_THROW(r.read_from(0, 2, not_null), std::runtime_error) << "NULL into a plain field";
}

TEST_F(PoolTest, SqlInjectionIsJustData) {
  auto pool = make_pool();
  run(pool->query("CREATE TABLE t (v text)"));
  run(pool->exec("INSERT INTO t VALUES ($1)", "x'); DROP TABLE t; --"));
  auto r = run(pool->query("SELECT v FROM t"));
  EXPECT_EQ(r.get<std::string>(0, 0), "x'); DROP TABLE t; --");
}

TEST_F(PoolTest, SqlStateMapsToTypedErrors) {
  auto pool = make_pool();
  run(pool->query("CREATE TABLE u (id int PRIMARY KEY, v int CHECK (v > 0), r int REFERENCES u(id))"));
  run(pool->query("INSERT INTO u VALUES (1, 1, NULL)"));
  EXPECT_THROW(run(pool->query("INSERT INTO u VALUES (1, 1, NULL)")), db::UniqueViolation);
  EXPECT_THROW(run(pool->query("INSERT INTO u VALUES (2, -1, NULL)")), db::CheckViolation);
  EXPECT_THROW(run(pool->query("INSERT INTO u VALUES (3, 1, 99)")), db::ForeignKeyViolation);
  EXPECT_THROW(run(pool->query("INSERT INTO u VALUES (NULL, 1, NULL)")), db::NotNullViolation);
  EXPECT_THROW(run(pool->query("SELEC 1")), db::QueryError);
  // The pool stays healthy after errors.
  EXPECT_EQ(run(pool->query("SELECT count(*) FROM u")).get<int>(0, 0), 1);
}

TEST_F(PoolTest, TransactionCommitsAndRollsBack) {
  auto pool = make_pool();
  run(pool->query("CREATE TABLE acc (id int PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))"));
  run(pool->query("INSERT INTO acc VALUES (1, 100), (2, 0)"));
  run(pool->transaction([](db::Transaction& tx) -> awaitable<void> {
    co_await tx.query("UPDATE acc SET balance = balance - 30 WHERE id = 1");
    co_await tx.query("UPDATE acc SET balance = balance + 30 WHERE id = 2");
  }));
  // Overdraft: the second statement fails, so the first must be rolled back.
  EXPECT_THROW(run(pool->transaction([](db::Transaction& tx) -> awaitable<void> {
                 co_await tx.query("UPDATE acc SET balance = balance + 500 WHERE id = 2");
                 co_await tx.query("UPDATE acc SET balance = balance - 500 WHERE id = 1");
               })),
               db::CheckViolation);
  auto r = run(pool->query("SELECT balance FROM acc ORDER BY id"));
  EXPECT_EQ(r.get<int>(0, 0), 70);
  EXPECT_EQ(r.get<int>(1, 0), 30);
}

TEST_F(PoolTest, SerializationFailuresAreRetried) {
  auto pool = make_pool(8);
  run(pool->query("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)"));
  run(pool->query("INSERT INTO counter VALUES (1, 0)"));
  // 20 concurrent read-modify-write transactions under SERIALIZABLE: conflicts are certain, yet with
  // retries every increment lands exactly once.
  int attempts = 0;
  auto body = [&]() -> awaitable<void> {
    std::vector<awaitable<void>> tasks;
    int finished = 0;
    auto ex = co_await asio::this_coro::executor;
    Event all_done(ex);
    for (int i = 0; i < 20; ++i) {
      asio::co_spawn(ex,
                     pool->transaction(
                         [&](db::Transaction& tx) -> awaitable<void> {
                           ++attempts;
                           auto r = co_await tx.query("SELECT n FROM counter WHERE id = 1");
                           int n = r.get<int>(0, 0);
                           co_await sleep_for(Millis(5));
                           co_await tx.exec("UPDATE counter SET n = $1 WHERE id = 1", n + 1);
                         },
                         db::Isolation::Serializable, 50),
                     [&](std::exception_ptr e) {
                       if (e) std::rethrow_exception(e);
                       if (++finished == 20) all_done.notify();
                     });
    }
    co_await all_done.wait_for(Millis(60000));
  };
  run(body());
  EXPECT_EQ(run(pool->query("SELECT n FROM counter")).get<int>(0, 0), 20);
  EXPECT_GT(attempts, 20) << "expected conflicts to force retries";
}

TEST_F(PoolTest, FiveHundredCoroutinesNeverExceedPoolSize) {
  auto pool = make_pool(8);
  // The database name from the URL: asking the server would open a 9th session that may linger in
  // pg_stat_activity for a moment after it closed.
  auto name_start = url.find("@/") + 2;
  std::string app_db = url.substr(name_start, url.find('?') - name_start);
  int max_seen = 0;
  int finished = 0;
  auto body = [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    Event all_done(ex);
    for (int i = 0; i < 500; ++i) {
      asio::co_spawn(
          ex,
          [&, i]() -> awaitable<void> {
            auto r = co_await pool->exec(
                "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client "
                "backend'), "
                "pg_sleep(0.002), $2::int",
                app_db, i);
            max_seen = std::max(max_seen, r.get<int>(0, 0));
          },
          [&](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
            if (++finished == 500) all_done.notify();
          });
    }
    co_await all_done.wait_for(Millis(60000));
  };
  run(body());
  EXPECT_EQ(finished, 500);
  EXPECT_LE(max_seen, 8);
  EXPECT_GE(max_seen, 2) << "the pool should have run queries in parallel";
  EXPECT_LE(pool->stats().open, 8);
  EXPECT_EQ(pool->stats().opened_total, 8u);
}

TEST_F(PoolTest, StatementTimeoutCancelsOnServer) {
  auto pool = make_pool(2, Millis(5000), Millis(300));
  auto started = Clock::now();
  EXPECT_THROW(run(pool->query("SELECT pg_sleep(20)")), db::QueryTimeout);
  EXPECT_LT(Clock::now() - started, Millis(5000));
  // The server really stopped the statement (no backend is still sleeping) and the pool still works.
  auto busy = vpnbot::testing::query_value_sync(
      url, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(20)%' AND state = 'active'");
  EXPECT_EQ(busy, "0");
  EXPECT_EQ(run(pool->query("SELECT 7")).get<int>(0, 0), 7);
}

TEST_F(PoolTest, AcquireTimesOutAndQueueIsBounded) {
  auto pool = std::make_unique<db::Pool>(io.get_executor(), blocking.get_executor(),
                                         db::PoolOptions{url, 1, 1, Millis(200), Millis(5000), Millis(30000)});
  auto body = [&]() -> awaitable<void> {
    auto held = co_await pool->acquire();  // the only connection
    auto ex = co_await asio::this_coro::executor;
    bool first_timed_out = false;
    asio::co_spawn(
        ex, [&]() -> awaitable<void> { co_await pool->acquire(); },
        [&](std::exception_ptr e) {
          try {
            if (e) std::rethrow_exception(e);
          } catch (const db::PoolTimeout&) {
            first_timed_out = true;
          }
        });
    co_await sleep_for(Millis(20));
    // One waiter is queued: the queue (max 1) is full, the next caller is refused at once.
    bool overloaded = false;
    try {
      co_await pool->acquire();
    } catch (const db::PoolOverloaded&) {
      overloaded = true;
    }
    EXPECT_TRUE(overloaded);
    co_await sleep_for(Millis(400));
    EXPECT_TRUE(first_timed_out);
  };
  run(body());
  EXPECT_EQ(pool->stats().timeouts_total, 1u);
  EXPECT_EQ(pool->stats().rejected_total, 1u);
}

TEST_F(PoolTest, RecoversAfterPostgresRestart) {
  auto pool = make_pool(4, Millis(2000));
  EXPECT_EQ(run(pool->query("SELECT 1")).get<int>(0, 0), 1);
  vpnbot::testing::cluster().stop();
  int errors = 0;
  for (int i = 0; i < 3; ++i) {
    try {
      run(pool->query("SELECT 1"));
    } catch (const db::ConnectionError&) {
      ++errors;
    }
  }
  EXPECT_EQ(errors, 3) << "with the server down every query fails fast with ConnectionError";
  vpnbot::testing::cluster().start();
  // The same pool, no process restart: stale connections are dropped and new ones opened. Through pgbouncer
  // the first attempts may still be refused for server_login_retry (a clear ConnectionError, never a hang).
  int value = 0;
  for (int attempt = 0; attempt < 20 && value == 0; ++attempt) {
    try {
      value = run(pool->query("SELECT 2")).get<int>(0, 0);
    } catch (const db::ConnectionError& e) {
      if (!vpnbot::testing::via_pgbouncer()) throw;
      run(sleep_for(Millis(250)));
    }
  }
  EXPECT_EQ(value, 2);
  EXPECT_GT(pool->stats().discarded_total, 0u);
}

TEST_F(PoolTest, ListenerDeliversNotificationsAndReconnects) {
  auto pool = make_pool();
  std::vector<std::string> got;
  int connects = 0;
  db::Listener listener(
      blocking.get_executor(), vpnbot::testing::direct_url(url), {"events"},
      [&](const db::Notification& n) { got.push_back(n.payload); }, [&] { ++connects; });
  asio::co_spawn(io, listener.run(), asio::detached);
  auto wait_for = [&](auto pred) -> awaitable<bool> {
    for (int i = 0; i < 400 && !pred(); ++i) co_await sleep_for(Millis(25));
    co_return pred();
  };
  EXPECT_TRUE(run(wait_for([&] { return listener.connected(); })));
  run(pool->query("SELECT pg_notify('events', 'one')"));
  EXPECT_TRUE(run(wait_for([&] { return got.size() == 1; })));
  // Kill the listening backend: the listener reconnects by itself and keeps delivering.
  run(pool->query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"));
  EXPECT_TRUE(run(wait_for([&] { return connects >= 2 && listener.connected(); })));
  run(pool->query("SELECT pg_notify('events', 'two')"));
  EXPECT_TRUE(run(wait_for([&] { return got.size() == 2; })));
  EXPECT_EQ(got, (std::vector<std::string>{"one", "two"}));
  listener.stop();
  run(sleep_for(Millis(50)));
}
