// End to end: the real `vpnbot` binary against a throwaway PostgreSQL.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "http/client.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"

using namespace vpnbot;
using vpnbot::testing::AsyncDbTest;

extern char** environ;

using vpnbot::testing::free_port;
using vpnbot::testing::Process;
using vpnbot::testing::spawn_vpnbot;

class ServeTest : public AsyncDbTest {
 protected:
  long http_status(const std::string& url_to_get) {
    http::Client client(io.get_executor(), {});
    try {
      return run(client.send({.url = url_to_get, .timeout = Millis(2000)})).status;
    } catch (const http::TransportError&) {
      return 0;
    }
  }
};

TEST_F(ServeTest, ServesHealthAndShutsDownCleanlyOnSigterm) {
  url = vpnbot::testing::empty_database_url();  // serve must migrate it itself
  auto port = free_port(), internal_port = free_port();
  auto p = spawn_vpnbot({"serve"}, {{"VPNBOT_DATABASE_URL", url},
                                    {"VPNBOT_HTTP_LISTEN", "127.0.0.1:" + std::to_string(port)},
                                    {"VPNBOT_HEALTH_LISTEN", "127.0.0.1:" + std::to_string(internal_port)},
                                    {"VPNBOT_MASTER_KEY_FILE", vpnbot::testing::test_master_key_file()}});
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::string internal = "http://127.0.0.1:" + std::to_string(internal_port);
  long ready = 0;
  for (int i = 0; i < 100 && ready != 200; ++i) {
    usleep(100000);
    ready = http_status(internal + "/readyz");
  }
  EXPECT_EQ(ready, 200) << p.output();
  EXPECT_EQ(http_status(base + "/healthz"), 200);
  EXPECT_EQ(http_status(base + "/metrics"), 404) << "internals are not on the public listener";
  EXPECT_EQ(http_status(base + "/readyz"), 404);
  // Prometheus text: request counters by route pattern and status, gauges from the pool and the database.
  http::Client client(io.get_executor(), {});
  auto metrics = run(client.send({.url = internal + "/metrics", .timeout = Millis(5000)}));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("vpnbot_http_requests_total{route=\"/healthz\",status=\"200\"} 1"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("vpnbot_db_pool{kind=\"open\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("vpnbot_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_EQ(http_status(base + "/no/such/page"), 404);
  metrics = run(client.send({.url = internal + "/metrics", .timeout = Millis(5000)}));
  EXPECT_NE(metrics.body.find("route=\"unmatched\",status=\"404\""), std::string::npos) << "bounded labels";
  kill(p.pid, SIGTERM);
  EXPECT_EQ(p.wait(Millis(15000)), 0) << p.output();
  // Every line on stdout is one JSON object.
  std::istringstream lines(p.output());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    EXPECT_NO_THROW((void)nlohmann::json::parse(line)) << line;
  }
  EXPECT_GT(count, 3);
  EXPECT_NE(p.output().find("\"msg\":\"stopped\""), std::string::npos);
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT count(*) FROM schema_migrations") != "0", true);
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT count(*) FROM leases"), "0") << "lease released on exit";
}

// A worker-only process (as in docker compose) serves health and its own metrics on health_listen, and nothing else.
TEST_F(ServeTest, WorkerServesHealthAndMetricsOnHealthListen) {
  auto port = free_port();
  auto p = spawn_vpnbot({"serve", "--roles", "worker"},
                        {{"VPNBOT_DATABASE_URL", url},
                         {"VPNBOT_HEALTH_LISTEN", "127.0.0.1:" + std::to_string(port)},
                         {"VPNBOT_MASTER_KEY_FILE", vpnbot::testing::test_master_key_file()}});
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  long ready = 0;
  for (int i = 0; i < 100 && ready != 200; ++i) {
    usleep(100000);
    ready = http_status(base + "/readyz");
  }
  EXPECT_EQ(ready, 200) << p.output();
  http::Client client(io.get_executor(), {});
  auto metrics = run(client.send({.url = base + "/metrics", .timeout = Millis(5000)}));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("vpnbot_db_pool{kind=\"open\"}"), std::string::npos) << metrics.body;
  EXPECT_EQ(http_status(base + "/telegram/webhook"), 404) << "no webhook routes outside the gateway";
  kill(p.pid, SIGTERM);
  EXPECT_EQ(p.wait(Millis(15000)), 0) << p.output();
}

TEST_F(ServeTest, BadConfigExitsWithTheKeyNamed) {
  auto p = spawn_vpnbot({"serve"}, {{"VPNBOT_DATABASE_URL", url}, {"VPNBOT_DB_POOL_MAX", "lots"}});
  EXPECT_EQ(p.wait(Millis(5000)), 2);
  EXPECT_NE(p.output().find("VPNBOT_DB_POOL_MAX"), std::string::npos) << p.output();
  auto q = spawn_vpnbot({"serve", "--roles", "gateway,bogus"}, {{"VPNBOT_DATABASE_URL", url}});
  EXPECT_EQ(q.wait(Millis(5000)), 2);
  EXPECT_NE(q.output().find("unknown role 'bogus'"), std::string::npos) << q.output();
}

TEST_F(ServeTest, MigrateCommandAndStatus) {
  url = vpnbot::testing::empty_database_url();
  auto status_before = spawn_vpnbot({"migrate", "--status"}, {{"VPNBOT_DATABASE_URL", url}});
  EXPECT_EQ(status_before.wait(Millis(10000)), 3) << status_before.output();
  auto m = spawn_vpnbot({"migrate"}, {{"VPNBOT_DATABASE_URL", url}});
  EXPECT_EQ(m.wait(Millis(10000)), 0) << m.output();
  auto status_after = spawn_vpnbot({"migrate", "--status"}, {{"VPNBOT_DATABASE_URL", url}});
  EXPECT_EQ(status_after.wait(Millis(10000)), 0) << status_after.output();
}

TEST_F(ServeTest, UnreachableDatabaseIsAClearStartupError) {
  auto p = spawn_vpnbot({"migrate"}, {{"VPNBOT_DATABASE_URL", "postgresql://nobody@/x?host=/nonexistent&port=1"},
                                      {"VPNBOT_DB_CONNECT_TIMEOUT_MS", "500"}});
  EXPECT_EQ(p.wait(Millis(10000)), 1);
  EXPECT_NE(p.output().find("db connect"), std::string::npos) << p.output();
}

// Each role alone (and all together) stops on SIGTERM within its shutdown grace, exit 0, its components stopped in
// reverse order of their start (the listeners first, the leases last).
TEST_F(ServeTest, EachRoleAloneStopsWithinItsDeadline) {
  for (std::string roles : {"gateway", "worker", "scheduler", "gateway,worker,scheduler"}) {
    SCOPED_TRACE(roles);
    auto port = free_port(), internal_port = free_port();
    auto p = spawn_vpnbot({"serve", "--roles", roles},
                          {{"VPNBOT_DATABASE_URL", url},
                           {"VPNBOT_HTTP_LISTEN", "127.0.0.1:" + std::to_string(port)},
                           {"VPNBOT_HEALTH_LISTEN", "127.0.0.1:" + std::to_string(internal_port)},
                           {"VPNBOT_HTTP_SHUTDOWN_GRACE_MS", "2000"},
                           {"VPNBOT_MASTER_KEY_FILE", vpnbot::testing::test_master_key_file()}});
    std::string internal = "http://127.0.0.1:" + std::to_string(internal_port);
    long ready = 0;
    for (int i = 0; i < 100 && ready != 200; ++i) {
      usleep(100000);
      ready = http_status(internal + "/readyz");
    }
    ASSERT_EQ(ready, 200) << p.output();
    auto begin = Clock::now();
    kill(p.pid, SIGTERM);
    EXPECT_EQ(p.wait(Millis(10000)), 0) << p.output();
    auto ms = std::chrono::duration_cast<Millis>(Clock::now() - begin).count();
    EXPECT_LT(ms, 2000 + 1000) << p.output();
    // Components stop in reverse: the internal listener is started last of all, so it is the first to stop.
    auto stopped = p.output().find("\"msg\":\"component stopped\"");
    ASSERT_NE(stopped, std::string::npos) << p.output();
    stopped = p.output().rfind('\n', stopped);  // the start of that line: it names the component first
    ASSERT_NE(stopped, std::string::npos);
    EXPECT_NE(p.output().find("internal-listener", stopped), std::string::npos);
    EXPECT_LT(p.output().find("internal-listener", stopped), p.output().find("metrics", stopped)) << p.output();
    EXPECT_NE(p.output().find("\"msg\":\"stopped\""), std::string::npos);
  }
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT count(*) FROM leases"), "0") << "leases released on exit";
}
