// Durable job queue: claim/complete/retry semantics, exactly-once effects, and crash recovery.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "core/event.hpp"
#include "jobs/queue.hpp"
#include "jobs/worker.hpp"
#include "support/build_paths.hpp"
#include "support/pg_fixture.hpp"

using namespace vpnbot;
using vpnbot::testing::AsyncDbTest;

extern char** environ;

class QueueTest : public AsyncDbTest {
 protected:
  void SetUp() override {
    AsyncDbTest::SetUp();
    vpnbot::testing::exec_sync(url, "CREATE TABLE test_effects (job_id bigint PRIMARY KEY, attempt int, owner text)");
    vpnbot::testing::exec_sync(url, "CREATE TABLE test_started (job_id bigint, attempt int, owner text)");
  }

  static awaitable<void> record_effect(jobs::JobContext& ctx) {
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      co_await tx.exec("INSERT INTO test_effects (job_id, attempt, owner) VALUES ($1, $2, $3)", ctx.job.id,
                       ctx.job.attempt, ctx.owner);
      co_await ctx.complete_in(tx);
    });
  }
};

TEST(QueueBackoff, GrowsExponentiallyWithBoundedJitter) {
  EXPECT_EQ(jobs::Queue::backoff_delay(0, 0.5), Millis(1000));
  EXPECT_EQ(jobs::Queue::backoff_delay(3, 0.5), Millis(8000));
  EXPECT_EQ(jobs::Queue::backoff_delay(3, 0.0), Millis(6000));
  EXPECT_EQ(jobs::Queue::backoff_delay(3, 1.0), Millis(10000));
  EXPECT_EQ(jobs::Queue::backoff_delay(30, 0.5), Millis(3600 * 1000));  // capped at an hour
}

TEST_F(QueueTest, UniqueKeyMakesEnqueueANoOp) {
  auto pool = make_pool();
  jobs::Queue q(*pool);
  auto first = run(q.enqueue({.kind = "k", .unique_key = "reminder:42:72h"}));
  auto second = run(q.enqueue({.kind = "k", .unique_key = "reminder:42:72h"}));
  auto other_kind = run(q.enqueue({.kind = "other", .unique_key = "reminder:42:72h"}));
  EXPECT_TRUE(first.has_value());
  EXPECT_FALSE(second.has_value());
  EXPECT_TRUE(other_kind.has_value());
  // Even after the job is done, the key stays used.
  auto claimed = run(q.claim({"k"}, 10, "w", Millis(60000)));
  ASSERT_EQ(claimed.size(), 1u);
  run(q.complete(claimed[0], "w"));
  EXPECT_FALSE(run(q.enqueue({.kind = "k", .unique_key = "reminder:42:72h"})).has_value());
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'k'"), 1);
}

// Priority decides among due jobs: a payment due now goes before a backlog of older housekeeping jobs.
TEST_F(QueueTest, HigherPriorityDueJobsAreClaimedFirstWhateverTheirAge) {
  auto pool = make_pool();
  jobs::Queue q(*pool);
  for (int i = 0; i < 5; ++i) run(q.enqueue({.kind = "bulk", .priority = 0}));
  vpnbot::testing::exec_sync(url, "UPDATE jobs SET run_at = now() - interval '1 hour'");  // an old backlog
  run(q.enqueue({.kind = "payment", .priority = 10}));
  run(q.enqueue({.kind = "later", .delay = Millis(3600000), .priority = 100}));  // not due: never claimed early
  auto first = run(q.claim({}, 1, "w", Millis(60000)));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].kind, "payment");
  auto rest = run(q.claim({}, 10, "w", Millis(60000)));
  EXPECT_EQ(rest.size(), 5u);
  for (const auto& job : rest) EXPECT_EQ(job.kind, "bulk");
}

TEST_F(QueueTest, EnqueueInTransactionOnlyExistsIfCommitted) {
  auto pool = make_pool();
  EXPECT_THROW(run(pool->transaction([](db::Transaction& tx) -> awaitable<void> {
                 jobs::NewJob job{.kind = "k"};
                 co_await jobs::Queue::enqueue(tx, job);
                 throw std::runtime_error("abort");
               })),
               std::runtime_error);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

TEST_F(QueueTest, ClaimSkipsLockedAndRespectsRunAt) {
  auto pool = make_pool();
  jobs::Queue q(*pool);
  for (int i = 0; i < 5; ++i) run(q.enqueue({.kind = "k", .payload = {{"i", i}}}));
  run(q.enqueue({.kind = "k", .delay = Millis(60000)}));
  auto a = run(q.claim({"k"}, 3, "a", Millis(60000)));
  auto b = run(q.claim({"k"}, 10, "b", Millis(60000)));
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(b.size(), 2u) << "the delayed job is not due and claimed jobs are not handed out twice";
  std::set<int64_t> ids;
  for (auto& j : a) ids.insert(j.id);
  for (auto& j : b) ids.insert(j.id);
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(a[0].attempt, 1);
}

TEST_F(QueueTest, FailureRetriesWithBackoffThenDies) {
  auto pool = make_pool();
  jobs::Queue q(*pool);
  run(q.enqueue({.kind = "k", .max_attempts = 2}));
  auto j1 = run(q.claim({"k"}, 1, "w", Millis(60000)));
  ASSERT_EQ(j1.size(), 1u);
  run(q.fail(j1[0], "w", "boom"));
  // Backoff after the first failure is 0.75..1.25 s: not claimable immediately.
  EXPECT_TRUE(run(q.claim({"k"}, 1, "w", Millis(60000))).empty());
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'pending' AND run_at > now() + interval '700 ms'"), 1);
  vpnbot::testing::exec_sync(url, "UPDATE jobs SET run_at = now()");
  auto j2 = run(q.claim({"k"}, 1, "w", Millis(60000)));
  ASSERT_EQ(j2.size(), 1u);
  EXPECT_EQ(j2[0].attempt, 2);
  run(q.fail(j2[0], "w", "boom again"));
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'dead' AND last_error = 'boom again'"), 1);
  auto depth = run(q.depth());
  ASSERT_EQ(depth.size(), 1u);
  EXPECT_EQ(depth[0].dead, 1);
  // An operator can requeue a dead job.
  EXPECT_TRUE(run(q.retry_dead(j2[0].id)));
  EXPECT_EQ(run(q.claim({"k"}, 1, "w", Millis(60000))).size(), 1u);
}

// A capped backoff: after many failures the next attempt is within the cap (±25%), not the hour of the plain
// exponential backoff; an uncapped job beside it backs off the full way.
TEST_F(QueueTest, CappedBackoffRetriesWithinItsCap) {
  auto pool = make_pool();
  jobs::Queue q(*pool);
  run(q.enqueue({.kind = "capped", .max_attempts = 100, .max_backoff = Millis(4000)}));
  run(q.enqueue({.kind = "plain", .max_attempts = 100}));
  vpnbot::testing::exec_sync(url, "UPDATE jobs SET attempts = 14");  // 2^13 s of plain backoff next
  for (const char* kind : {"capped", "plain"}) {
    auto claimed = run(q.claim({kind}, 1, "w", Millis(60000)));
    ASSERT_EQ(claimed.size(), 1u);
    run(q.fail(claimed[0], "w", "panel down"));
  }
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'capped' AND run_at BETWEEN now() + interval '2900 ms' AND "
                  "now() + interval '5100 ms'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'plain' AND run_at > now() + interval '2000 seconds'"), 1);
}

TEST_F(QueueTest, ExpiredLeaseMakesJobClaimableAndFencesTheOldOwner) {
  auto pool = make_pool();
  jobs::Queue q(*pool);
  run(q.enqueue({.kind = "k"}));
  auto first = run(q.claim({"k"}, 1, "dead-worker", Millis(1000)));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(run(q.claim({"k"}, 1, "w2", Millis(1000))).empty());
  run(sleep_for(Millis(1100)));
  auto second = run(q.claim({"k"}, 1, "w2", Millis(60000)));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 2);
  // The first owner wakes up late: it can no longer complete or fail the job.
  EXPECT_THROW(run(q.complete(first[0], "dead-worker")), jobs::LeaseLost);
  run(q.fail(first[0], "dead-worker", "late"));
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'running' AND locked_by = 'w2'"), 1);
  run(q.complete(second[0], "w2"));
}

TEST_F(QueueTest, TenThousandJobsThreeWorkersEachExactlyOnce) {
  auto pool = make_pool(8);
  vpnbot::testing::exec_sync(url,
                             "INSERT INTO jobs (kind, payload) SELECT 'test.effect', jsonb_build_object('n', g) "
                             "FROM generate_series(1, 10000) g");
  std::map<int64_t, int> handled;
  std::vector<std::unique_ptr<jobs::Worker>> workers;
  for (int w = 0; w < 3; ++w) {
    auto worker = std::make_unique<jobs::Worker>(
        io.get_executor(), *pool, jobs::WorkerOptions{"w" + std::to_string(w), 8, Millis(30000), Millis(20)});
    worker->on("test.effect", [&](jobs::JobContext& ctx) -> awaitable<void> {
      ++handled[ctx.job.id];
      co_await record_effect(ctx);
    });
    workers.push_back(std::move(worker));
  }
  for (auto& w : workers) w->start();
  run([&]() -> awaitable<void> {
    while (handled.size() < 10000) co_await sleep_for(Millis(50));
    for (auto& w : workers) co_await w->stop(Clock::now() + Millis(5000));
  }());
  EXPECT_EQ(count("SELECT count(*) FROM test_effects"), 10000);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'done'"), 10000);
  int duplicates = 0;
  for (auto& [id, n] : handled) duplicates += n > 1;
  EXPECT_EQ(duplicates, 0);
  for (auto& w : workers) EXPECT_GT(w->stats().succeeded, 0u) << "every worker should have taken a share";
}

TEST_F(QueueTest, HandlerErrorsRetryAndPermanentErrorsDie) {
  auto pool = make_pool();
  jobs::Queue q(*pool);
  run(q.enqueue({.kind = "flaky", .max_attempts = 5}));
  run(q.enqueue({.kind = "malformed"}));
  jobs::Worker worker(io.get_executor(), *pool, jobs::WorkerOptions{"w", 4, Millis(30000), Millis(20)});
  int flaky_calls = 0;
  worker.on("flaky", [&](jobs::JobContext&) -> awaitable<void> {
    if (++flaky_calls == 1) throw std::runtime_error("transient");
    co_return;
  });
  worker.on("malformed", [&](jobs::JobContext&) -> awaitable<void> {
    throw jobs::PermanentJobError("payload has no user id");
    co_return;
  });
  worker.start();
  run([&]() -> awaitable<void> {
    for (int i = 0; i < 200 && count("SELECT count(*) FROM jobs WHERE kind='malformed' AND state='dead'") == 0; ++i)
      co_await sleep_for(Millis(20));
    // Skip the flaky job's backoff instead of sleeping through it.
    vpnbot::testing::exec_sync(url, "UPDATE jobs SET run_at = now() WHERE kind = 'flaky' AND state = 'pending'");
    worker.wake();
    for (int i = 0; i < 200 && count("SELECT count(*) FROM jobs WHERE kind='flaky' AND state='done'") == 0; ++i)
      co_await sleep_for(Millis(20));
    co_await worker.stop(Clock::now() + Millis(5000));
  }());
  EXPECT_EQ(flaky_calls, 2);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'flaky' AND state = 'done' AND attempts = 2"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE kind = 'malformed' AND state = 'dead' AND attempts = 1 AND "
                  "last_error = 'payload has no user id'"),
            1);
}

TEST_F(QueueTest, KilledWorkerProcessLosesNothing) {
  auto pool = make_pool();
  jobs::Queue q(*pool);
  auto id = run(q.enqueue({.kind = "test.slow", .payload = {{"ms", 60000}}}));
  ASSERT_TRUE(id);
  std::string helper = std::string(vpnbot::testing::kTestHelperDir) + "/job_worker";
  std::vector<std::string> args{helper, url, "victim", "1500"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, helper.c_str(), nullptr, nullptr, argv.data(), environ), 0);
  // Wait until the victim is inside the job, then kill -9 it mid-job.
  for (int i = 0; i < 200 && count("SELECT count(*) FROM test_started") == 0; ++i) run(sleep_for(Millis(25)));
  ASSERT_EQ(count("SELECT count(*) FROM test_started WHERE owner = 'victim'"), 1);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'running' AND locked_by = 'victim'"), 1);

  // A healthy worker takes the job over once the victim's lease (1.5 s) runs out.
  jobs::Worker survivor(io.get_executor(), *pool, jobs::WorkerOptions{"survivor", 4, Millis(30000), Millis(50)});
  survivor.on("test.slow", [](jobs::JobContext& ctx) -> awaitable<void> { co_await record_effect(ctx); });
  survivor.start();
  auto started = Clock::now();
  run([&]() -> awaitable<void> {
    for (int i = 0; i < 400 && count("SELECT count(*) FROM test_effects") == 0; ++i) co_await sleep_for(Millis(25));
    co_await survivor.stop(Clock::now() + Millis(5000));
  }());
  EXPECT_GE(Clock::now() - started, Millis(500)) << "the job must wait for the lease, not be stolen early";
  EXPECT_EQ(count("SELECT count(*) FROM test_effects WHERE owner = 'survivor' AND attempt = 2"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'done' AND attempts = 2"), 1);
}
