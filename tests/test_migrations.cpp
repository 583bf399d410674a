// Migrations: idempotent, concurrent-safe, and tamper-evident.
#include "db/migrations.hpp"
#include "support/pg_fixture.hpp"

using namespace vpnbot;
using vpnbot::testing::AsyncDbTest;

class MigrationTest : public AsyncDbTest {
 protected:
  void SetUp() override { url = vpnbot::testing::empty_database_url(); }
};

TEST_F(MigrationTest, AppliesOnceAndReportsStatus) {
  auto pool = make_pool();
  auto& files = db::embedded_migrations();
  ASSERT_FALSE(files.empty());
  auto before = run(db::migration_status(*pool, files));
  EXPECT_EQ(before.pending.size(), files.size());
  EXPECT_EQ(run(db::migrate(*pool, files)), static_cast<int>(files.size()));
  EXPECT_EQ(run(db::migrate(*pool, files)), 0);
  auto after = run(db::migration_status(*pool, files));
  EXPECT_TRUE(after.up_to_date());
  EXPECT_EQ(after.applied_version, after.latest_version);
}

TEST_F(MigrationTest, ConcurrentMigratorsApplyEachFileOnce) {
  std::vector<db::MigrationFile> files = {
      {1, "0001_a", "CREATE TABLE a (id int); SELECT pg_sleep(0.2);"},
      {2, "0002_b", "CREATE TABLE b (id int);"},
      {3, "0003_c", "INSERT INTO a VALUES (1);"},
  };
  std::vector<std::unique_ptr<db::Pool>> pools;
  int applied_total = 0, finished = 0;
  std::exception_ptr failure;
  for (int i = 0; i < 4; ++i) {
    pools.push_back(make_pool(2));
    asio::co_spawn(io, db::migrate(*pools.back(), files), [&](std::exception_ptr e, int n) {
      if (e) failure = e;
      applied_total += n;
      ++finished;
    });
  }
  run([&]() -> awaitable<void> {
    while (finished < 4) co_await sleep_for(Millis(20));
  }());
  if (failure) std::rethrow_exception(failure);
  EXPECT_EQ(applied_total, 3);
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT count(*) FROM a"), "1");
}

TEST_F(MigrationTest, FailingFileRollsBackAloneAndChangedFileIsRefused) {
  auto pool = make_pool();
  std::vector<db::MigrationFile> files = {{1, "0001_ok", "CREATE TABLE ok (id int);"},
                                          {2, "0002_bad", "CREATE TABLE half (id int); SELECT * FROM missing;"}};
  EXPECT_THROW(run(db::migrate(*pool, files)), db::QueryError);
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT count(*) FROM schema_migrations"), "1");
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT to_regclass('half') IS NULL"), "t");
  files[1].sql = "CREATE TABLE half (id int);";
  EXPECT_EQ(run(db::migrate(*pool, files)), 1);
  files[0].sql = "CREATE TABLE ok (id bigint);";  // edited after being applied
  try {
    run(db::migrate(*pool, files));
    FAIL() << "a changed migration must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("0001_ok was changed"), std::string::npos) << e.what();
  }
}
