#include "support/pg_fixture.hpp"

#include <sodium.h>

#include <atomic>

#include "db/migrations.hpp"

namespace vpnbot::testing {
namespace {

std::unique_ptr<db::LocalCluster> g_cluster;
std::atomic<int> g_database_counter{0};
constexpr const char* kTemplate = "vpnbot_template";

class ClusterEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (sodium_init() < 0) throw std::runtime_error("sodium_init failed");
    g_cluster = std::make_unique<db::LocalCluster>(db::LocalCluster::Options{});
    g_cluster->start();
    exec_sync(g_cluster->url(), std::string("CREATE DATABASE ") + kTemplate);
    // Migrate the template once with the real migration runner; each test clones it in milliseconds.
    asio::io_context io;
    asio::thread_pool blocking(1);
    db::Pool pool(io.get_executor(), blocking.get_executor(), db::PoolOptions{g_cluster->url(kTemplate), 1});
    std::exception_ptr error;
    asio::co_spawn(io, db::migrate(pool, db::embedded_migrations()), [&](std::exception_ptr e, int) { error = e; });
    io.run();
    pool.close();
    if (error) std::rethrow_exception(error);
    if (via_pgbouncer()) g_cluster->start_pgbouncer();
  }
  void TearDown() override { g_cluster.reset(); }
};

[[maybe_unused]] auto* const g_env = ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

PGconn* connect_sync(const std::string& url) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("test connect: " + msg);
  }
  return c;
}

std::string new_database(const std::string& template_name) {
  std::string name = "t" + std::to_string(getpid()) + "_" + std::to_string(++g_database_counter);
  exec_sync(cluster().url(), "CREATE DATABASE " + name + " TEMPLATE " + template_name);
  return via_pgbouncer() ? cluster().pgbouncer_url(name) : cluster().url(name);
}

}  // namespace

db::LocalCluster& cluster() {
  return *g_cluster;
}

void exec_sync(const std::string& url, const std::string& sql) {
  query_value_sync(url, sql);
}

std::string query_value_sync(const std::string& url, const std::string& sql) {
  PGconn* c = connect_sync(url);
  PGresult* r = PQexec(c, sql.c_str());
  auto status = PQresultStatus(r);
  std::string value;
  std::string error = PQresultErrorMessage(r);
  if (status == PGRES_TUPLES_OK && PQntuples(r) > 0) value = PQgetvalue(r, 0, 0);
  PQclear(r);
  PQfinish(c);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) throw std::runtime_error("test sql: " + error);
  return value;
}

std::string columns_containing(const std::string& url, const std::string& needle) {
  // Straight to PostgreSQL: the temporary function must live on the connection that calls it.
  PGconn* c = connect_sync(direct_url(url));
  const char* create = R"sql(
CREATE FUNCTION pg_temp.columns_containing(needle text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE c record; n bigint; found text := '';
BEGIN
  FOR c IN SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'bytea', 'json', 'jsonb', 'ARRAY')
  LOOP
    IF c.data_type = 'bytea' THEN
      EXECUTE format('SELECT count(*) FROM %I WHERE position(convert_to($1, ''UTF8'') IN %I) > 0',
                     c.table_name, c.column_name) INTO n USING needle;
    ELSE
      EXECUTE format('SELECT count(*) FROM %I WHERE strpos(%I::text, $1) > 0', c.table_name, c.column_name)
        INTO n USING needle;
    END IF;
    IF n > 0 THEN found := found || c.table_name || '.' || c.column_name || ' '; END IF;
  END LOOP;
  RETURN found;
END $f$)sql";
  PGresult* created = PQexec(c, create);
  std::string error = PQresultStatus(created) == PGRES_COMMAND_OK ? "" : PQresultErrorMessage(created);
  PQclear(created);
  std::string value;
  if (error.empty()) {
    const char* params[] = {needle.c_str()};
    PGresult* r = PQexecParams(c, "SELECT pg_temp.columns_containing($1)", 1, nullptr, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
      value = PQgetvalue(r, 0, 0);
    else
      error = PQresultErrorMessage(r);
    PQclear(r);
  }
  PQfinish(c);
  if (!error.empty()) throw std::runtime_error("test sql: " + error);
  return value;
}

std::string fresh_database_url() {
  return new_database(kTemplate);
}
std::string empty_database_url() {
  return new_database("template1");
}

bool via_pgbouncer() {
  const char* v = std::getenv("TEST_VIA_PGBOUNCER");
  return v && std::string(v) == "1";
}

std::string direct_url(const std::string& url) {
  auto bouncer_port = "port=" + std::to_string(cluster().pgbouncer_port());
  auto pos = url.find(bouncer_port);
  if (pos == std::string::npos) return url;
  return url.substr(0, pos) + "port=" + std::to_string(cluster().port()) + url.substr(pos + bouncer_port.size());
}

}  // namespace vpnbot::testing
