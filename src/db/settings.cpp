#include "db/settings.hpp"

namespace vpnbot::db {

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.string("database_url", s.url, true,
                "PostgreSQL connection URL (libpq syntax). May point at pgbouncer in transaction mode.",
                [](const ConfigValue& v, const std::string& url) {
                  if (url.empty()) v.fail("must not be empty");
                });
  schema.string("database_listen_url", s.listen_url, false,
                "Direct PostgreSQL URL for LISTEN (pgbouncer in transaction mode drops LISTEN). Defaults to "
                "database_url.");
  schema.integer("db_pool_max", s.pool_max, 1, 1000, "Max PostgreSQL connections per process.");
  schema.integer("db_pool_queue_max", s.pool_queue_max, 0, 1000000,
                 "Max callers waiting for a connection; beyond it acquire fails at once.");
  schema.integer("db_acquire_timeout_ms", s.acquire_timeout_ms, 1, 600000, "Max wait for a pooled connection.");
  schema.integer("db_connect_timeout_ms", s.connect_timeout_ms, 1, 600000, "Max time to establish a new connection.");
  schema.integer("db_query_timeout_ms", s.query_timeout_ms, 1, 3600000,
                 "Statement timeout: the query is cancelled on the server after this.");
  schema.integer("db_transaction_timeout_ms", s.transaction_timeout_ms, 1, 3600000,
                 "Deadline of a whole transaction (each statement gets what is left of it): no request or job holds a "
                 "connection and its locks longer.");
}

void finish_settings(Settings& s) {
  if (s.listen_url.empty()) s.listen_url = s.url;
}

}  // namespace vpnbot::db
