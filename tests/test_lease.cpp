// Leader leases: one holder at a time, takeover after expiry, and a holder that cannot renew steps down.
#include "jobs/lease.hpp"
#include "support/pg_fixture.hpp"

using namespace vpnbot;
using vpnbot::testing::AsyncDbTest;

class LeaseTest : public AsyncDbTest {};

TEST_F(LeaseTest, TwoContendersOneHolder) {
  auto pool = make_pool();
  jobs::LeaderLease a(io.get_executor(), *pool, "scheduler", "a", Millis(1000));
  jobs::LeaderLease b(io.get_executor(), *pool, "scheduler", "b", Millis(1000));
  EXPECT_TRUE(run(a.try_acquire()));
  EXPECT_FALSE(run(b.try_acquire()));
  EXPECT_TRUE(run(a.try_acquire())) << "renewal by the holder";
  EXPECT_FALSE(run(b.try_acquire()));
  // Once a stops renewing, b takes over after the expiry, and a's renewal then fails.
  run(sleep_for(Millis(1100)));
  EXPECT_TRUE(run(b.try_acquire()));
  EXPECT_FALSE(run(a.try_acquire()));
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT owner FROM leases WHERE key = 'scheduler'"), "b");
}

TEST_F(LeaseTest, RunLoopsElectExactlyOneAndFailOver) {
  auto pool = make_pool();
  jobs::LeaderLease a(io.get_executor(), *pool, "k", "a", Millis(1200));
  jobs::LeaderLease b(io.get_executor(), *pool, "k", "b", Millis(1200));
  int both_held = 0;
  asio::co_spawn(io, a.run(), asio::detached);
  asio::co_spawn(io, b.run(), asio::detached);
  run([&]() -> awaitable<void> {
    for (int i = 0; i < 60; ++i) {  // 3 s of sampling
      both_held += a.held() && b.held();
      co_await sleep_for(Millis(50));
    }
  }());
  EXPECT_EQ(both_held, 0);
  EXPECT_TRUE(a.held() != b.held());
  auto& leader = a.held() ? a : b;
  auto& follower = a.held() ? b : a;
  leader.stop();  // releases the lease: the follower takes over within one renew interval
  run([&]() -> awaitable<void> {
    for (int i = 0; i < 100 && !follower.held(); ++i) co_await sleep_for(Millis(20));
  }());
  EXPECT_TRUE(follower.held());
  EXPECT_FALSE(leader.held());
  follower.stop();
  run(sleep_for(Millis(100)));
}

TEST_F(LeaseTest, HolderStepsDownBeforeExpiryWhenDatabaseIsUnreachable) {
  auto pool = make_pool(2, Millis(300));
  const Millis ttl(3000);
  jobs::LeaderLease a(io.get_executor(), *pool, "k", "a", ttl);
  bool lost = false;
  Clock::time_point lost_at{};
  a.on_lost = [&] {
    lost = true;
    lost_at = Clock::now();
  };
  asio::co_spawn(io, a.run(), asio::detached);
  run([&]() -> awaitable<void> {
    for (int i = 0; i < 100 && !a.held(); ++i) co_await sleep_for(Millis(20));
  }());
  ASSERT_TRUE(a.held());
  auto stopped_at = Clock::now();
  vpnbot::testing::cluster().stop();
  run([&]() -> awaitable<void> {
    for (int i = 0; i < 200 && !lost; ++i) co_await sleep_for(Millis(20));
  }());
  vpnbot::testing::cluster().start();
  EXPECT_TRUE(lost);
  EXPECT_FALSE(a.held());
  // The last renewal was sent before the stop, so the server-side expiry is at most stopped_at + ttl: the holder
  // must have stepped down before that moment, when somebody else could take over.
  EXPECT_LT(lost_at - stopped_at, ttl);
  a.stop();
  run(sleep_for(Millis(100)));
}
