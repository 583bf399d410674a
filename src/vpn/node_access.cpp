#include "vpn/node_access.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "core/log.hpp"
#include "db/connection.hpp"
#include "db/errors.hpp"
#include "vpn/store.hpp"

namespace vpnbot::vpn {
namespace {

// Everything a node's role may do; with the policies of migrations/0025 each is limited to its own node's rows.
constexpr const char* kGrants[] = {
    "GRANT SELECT ON vpn_nodes TO {}",
    "GRANT SELECT (id, node_id, public_key, preshared_key_enc, address, state, revision, rx_bytes, tx_bytes) "
    "ON vpn_peers TO {}",
    "GRANT UPDATE (rx_bytes, tx_bytes) ON vpn_peers TO {}",  // counter baselines: its readings
    "GRANT SELECT ON SEQUENCE vpn_peer_revision TO {}",
    "GRANT SELECT, INSERT, UPDATE ON vpn_agent_status TO {}",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON leases TO {}",
    "GRANT EXECUTE ON FUNCTION vpn_record_readings(bigint, text[], bigint[], bigint[], bigint[]) TO {}",
    // A stuck agent cannot hold locks or a connection slot for long.
    "ALTER ROLE {} SET statement_timeout = '30s'",
    "ALTER ROLE {} SET idle_in_transaction_session_timeout = '60s'",
};

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string hex(bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  hex.pop_back();
  return hex;
}

// The password as PostgreSQL stores it (SCRAM-SHA-256, computed by libpq here), so the plaintext never reaches the
// server, where a statement log could keep it. libpq wants a connection object for it; one that never connects.
std::string scram_verifier(const std::string& role, const std::string& password) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectStart("host=/nonexistent-for-password-hashing"),
                                                    &PQfinish);
  if (!conn) throw std::runtime_error("libpq: out of memory");
  char* verifier = PQencryptPasswordConn(conn.get(), password.c_str(), role.c_str(), "scram-sha-256");
  if (!verifier) throw std::runtime_error("libpq could not hash the node's password");
  std::string out = verifier;
  PQfreemem(verifier);
  return out;
}

void write_secret_file(const std::string& path, const std::string& content) {
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + temporary + ": " + std::strerror(errno));
  std::string line = content + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + temporary);
  std::filesystem::rename(temporary, path);
}

}  // namespace

awaitable<NodeCredential> issue_node_credential(db::Pool& pool, const SecretBox& master,
                                                const std::string& database_url, const std::string& node_name) {
  NodeCredential credential;
  std::string password = random_hex(24);
  co_await pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
    // The role's name is unique in the cluster (roles are shared by its databases), starts with a letter and holds
    // only [a-z0-9_], so it needs no quoting; at most 62 bytes.
    auto node = co_await tx.exec(
        "SELECT id, coalesce(db_role, 'vpnbot_' || left(regexp_replace(lower(current_database()), '[^a-z0-9_]', '_', "
        "'g'), 30) || '_node_' || id) FROM vpn_nodes WHERE name = $1 FOR UPDATE",
        node_name);
    if (node.empty()) throw std::invalid_argument("no WireGuard node named '" + node_name + "'");
    int64_t node_id = node.get<int64_t>(0, 0);
    credential.role = node.get<std::string>(0, 1);
    auto exists = co_await tx.exec("SELECT count(*) FROM pg_roles WHERE rolname = $1", credential.role);
    if (exists.get<int64_t>(0, 0) == 0) co_await tx.exec(fmt::format("CREATE ROLE {}", credential.role));
    co_await tx.exec(
        fmt::format("ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS "
                    "CONNECTION LIMIT 8 PASSWORD '{}'",
                    credential.role, scram_verifier(credential.role, password)));
    for (const char* grant : kGrants) co_await tx.exec(fmt::format(fmt::runtime(grant), credential.role));
    co_await tx.exec("UPDATE vpn_nodes SET db_role = $2 WHERE id = $1", node_id, credential.role);
    auto key = co_await VpnStore::reseal_node(tx, master, node_id);
    credential.node_key_hex = key.key_hex();
    auto generation = co_await tx.exec("SELECT sealing_generation FROM vpn_nodes WHERE id = $1", node_id);
    credential.generation = generation.get<int>(0, 0);
  });
  // Sessions opened with the old password would keep their access until they reconnect.
  std::string not_ended;
  try {
    co_await pool.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", credential.role);
  } catch (const db::Error& e) {
    not_ended = e.what();
  }
  if (!not_ended.empty())
    log::warn("vpn", "the node's open sessions were not ended (they end when the agent restarts)",
              {{"role", credential.role}, {"error", not_ended}});
  // libpq takes the last of a repeated keyword: the node's role and password replace the shop's.
  credential.database_url =
      db::split_password(database_url).conninfo + " user='" + credential.role + "' password='" + password + "'";
  log::info("vpn", "node credential issued",
            {{"node", node_name}, {"role", credential.role}, {"generation", credential.generation}});
  co_return credential;
}

std::pair<std::string, std::string> write_node_credential(const NodeCredential& credential, const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::string url_path = dir + "/database.url", key_path = dir + "/node.key";
  write_secret_file(url_path, credential.database_url);
  write_secret_file(key_path, credential.node_key_hex);
  return {url_path, key_path};
}

std::string read_node_database_url(const std::string& dir) {
  std::string path = dir + "/database.url";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  if (st.st_mode & 077) throw std::runtime_error(path + " is readable by others: chmod 600 it");
  std::ifstream in(path);
  std::string url;
  std::getline(in, url);
  if (url.empty()) throw std::runtime_error(path + " holds no connection string");
  return url;
}

}  // namespace vpnbot::vpn
