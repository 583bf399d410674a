// Housekeeping against a real PostgreSQL: only finished rows past the retention go; open work never does.
#include <gtest/gtest.h>

#include "app/housekeeping.hpp"
#include "support/pg_fixture.hpp"

using namespace vpnbot;
using vpnbot::testing::AsyncDbTest;

class HousekeepingTest : public AsyncDbTest {
 protected:
};

TEST_F(HousekeepingTest, PurgesOnlyOldFinishedRows) {
  vpnbot::testing::exec_sync(url, R"sql(
INSERT INTO tg_inbox (update_id, chat_id, kind, payload, state, finished_at) VALUES
  (1, 1, 'message', '{}', 'done', now() - interval '40 days'),
  (2, 1, 'message', '{}', 'failed', now() - interval '40 days'),
  (3, 1, 'message', '{}', 'done', now() - interval '1 day'),
  (4, 1, 'message', '{}', 'pending', NULL);
INSERT INTO outbox (chat_id, method, payload, state, created_at) VALUES
  (1, 'sendMessage', '{}', 'sent', now() - interval '40 days'),
  (1, 'sendMessage', '{}', 'blocked', now() - interval '40 days'),
  (1, 'sendMessage', '{}', 'pending', now() - interval '40 days'),
  (1, 'sendMessage', '{}', 'held', now() - interval '40 days'),
  (1, 'sendMessage', '{}', 'sent', now() - interval '2 days');
INSERT INTO jobs (kind, state, finished_at) VALUES ('x', 'done', now() - interval '40 days'),
  ('x', 'pending', NULL), ('x', 'dead', NULL);)sql");
  auto pool = make_pool(2);
  EXPECT_EQ(run(app::purge_finished(*pool, 30)), 2 + 2 + 1);
  EXPECT_EQ(vpnbot::testing::query_value_sync(
                url, "SELECT string_agg(update_id::text, ',' ORDER BY update_id) FROM tg_inbox"),
            "3,4")
      << "the recent and the open update stay";
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), 3) << "pending and held messages are never purged";
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 2) << "open and dead jobs stay for the operator";
  EXPECT_EQ(run(app::purge_finished(*pool, 30)), 0);
}
