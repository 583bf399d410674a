#include "db/local_cluster.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "core/log.hpp"
#include "core/process.hpp"

extern char** environ;

namespace vpnbot::db {
namespace fs = std::filesystem;

namespace {
std::string find_pg_bin() {
  for (const char* version : {"17", "16", "15", "14", "13"}) {
    std::string bin = fmt::format("/usr/lib/postgresql/{}/bin", version);
    if (fs::exists(bin + "/initdb")) return bin;
  }
  throw std::runtime_error("local postgres: initdb not found under /usr/lib/postgresql/*/bin (install postgresql-15)");
}
}  // namespace

int LocalCluster::run(const std::vector<std::string>& argv, const std::string& log_file) {
  return run_process(argv, log_file);
}

LocalCluster::LocalCluster(Options options) : options_(std::move(options)), bin_(find_pg_bin()) {
  char tmpl[] = "/tmp/vpnbot-pg-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("local postgres: mkdtemp failed");
  dir_ = tmpl;
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (!pw) throw std::runtime_error("local postgres: running as root but there is no 'postgres' user");
    if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("local postgres: cannot chown " + dir_);
  }
  // Who made it: a later process removes clusters whose owner died without cleaning up (remove_abandoned).
  if (FILE* f = std::fopen((dir_ + "/owner.pid").c_str(), "w")) {
    std::fprintf(f, "%d\n", static_cast<int>(getpid()));
    std::fclose(f);
  }
  int rc = run(as_postgres(fmt::format(
                   "{}/initdb -D {}/data -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8", bin_, dir_)),
               dir_ + "/initdb.log");
  if (rc != 0) throw std::runtime_error(fmt::format("local postgres: initdb failed (see {}/initdb.log)", dir_));
}

int LocalCluster::remove_abandoned() {
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/tmp", ec)) {
    std::string name = entry.path().filename();
    if (name.rfind("vpnbot-pg-", 0) != 0) continue;
    std::FILE* f = std::fopen((entry.path() / "owner.pid").c_str(), "r");
    if (!f) continue;  // made by an older version, or still being created
    int owner = 0;
    bool read = std::fscanf(f, "%d", &owner) == 1;
    std::fclose(f);
    if (!read || owner <= 0 || ::kill(owner, 0) == 0 || errno != ESRCH) continue;
    std::string dir = entry.path();
    std::string pg_ctl = fmt::format("{}/pg_ctl -D {}/data -m immediate -w -t 30 stop", find_pg_bin(), dir);
    if (fs::exists(dir + "/data/postmaster.pid")) run(as_postgres(pg_ctl), "/dev/null");
    // pgbouncer of that cluster, if any, goes with its pid file.
    run({"sh", "-c", "test -f '" + dir + "/pgbouncer.pid' && kill -9 $(cat '" + dir + "/pgbouncer.pid')"}, "/dev/null");
    fs::remove_all(dir, ec);
    log::info("local-postgres", "removed a cluster left by a process that died", {{"dir", dir}, {"owner_pid", owner}});
    ++removed;
  }
  return removed;
}

LocalCluster::~LocalCluster() {
  try {
    if (pgbouncer_running_) stop_pgbouncer();
    if (running_) stop();
  } catch (const std::exception& e) {
    log::warn("local-postgres", "stop failed", {{"error", e.what()}});
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::vector<std::string> LocalCluster::as_postgres(const std::string& command) {
  if (geteuid() == 0) return {"su", "postgres", "-s", "/bin/sh", "-c", command};
  return {"/bin/sh", "-c", command};
}

void LocalCluster::start() {
  std::string settings = fmt::format(
      "-p {} -k {} -c listen_addresses='' -c max_connections=300 {} {}", port(), dir_,
      options_.fsync ? "" : "-c fsync=off -c synchronous_commit=off -c full_page_writes=off", options_.extra_settings);
  int rc = run(as_postgres(fmt::format("{}/pg_ctl -D {}/data -l {}/postgres.log -w -t 60 start -o \"{}\"", bin_, dir_,
                                       dir_, settings)),
               dir_ + "/pg_ctl.log");
  if (rc != 0) throw std::runtime_error(fmt::format("local postgres: start failed (see {}/postgres.log)", dir_));
  running_ = true;
}

void LocalCluster::stop() {
  int rc =
      run(as_postgres(fmt::format("{}/pg_ctl -D {}/data -m fast -w -t 60 stop", bin_, dir_)), dir_ + "/pg_ctl.log");
  running_ = false;
  if (rc != 0) throw std::runtime_error(fmt::format("local postgres: stop failed (see {}/pg_ctl.log)", dir_));
}

void LocalCluster::start_pgbouncer() {
  std::string ini = dir_ + "/pgbouncer.ini";
  {
    std::FILE* f = std::fopen(ini.c_str(), "w");
    if (!f) throw std::runtime_error("local pgbouncer: cannot write " + ini);
    // max_prepared_statements stays 0 (the 1.18 default): the code must not need named statements. A client waits
    // up to query_wait_timeout for a server connection: ten transactions racing on a loaded machine have waited over
    // 2 s for theirs (a server that is down is still reported at once, by server_login_retry).
    std::fputs(
        fmt::format(
            "[databases]\n* = host={0} port={1} user=postgres\n[pgbouncer]\nlisten_addr =\nunix_socket_dir = {0}\n"
            "listen_port = {2}\nauth_type = any\npool_mode = transaction\nmax_client_conn = 2000\n"
            "default_pool_size = 40\nlogfile = {0}/pgbouncer.log\npidfile = {0}/pgbouncer.pid\n"
            "server_login_retry = 1\nquery_wait_timeout = 15\nignore_startup_parameters = extra_float_digits,options\n",
            dir_, port(), pgbouncer_port())
            .c_str(),
        f);
    std::fclose(f);
  }
  if (geteuid() == 0) run({"chown", "postgres", ini});
  int rc = run(as_postgres(fmt::format("/usr/sbin/pgbouncer -d {}", ini)), dir_ + "/pgbouncer.out");
  if (rc != 0) throw std::runtime_error(fmt::format("local pgbouncer: start failed (see {}/pgbouncer.log)", dir_));
  // -d returns once daemonised; wait for the socket so the first client does not race it.
  std::string socket = fmt::format("{}/.s.PGSQL.{}", dir_, pgbouncer_port());
  for (int i = 0; i < 200 && !fs::exists(socket); ++i) usleep(10000);
  if (!fs::exists(socket)) throw std::runtime_error("local pgbouncer: socket did not appear");
  pgbouncer_running_ = true;
}

void LocalCluster::stop_pgbouncer() {
  pgbouncer_running_ = false;
  run(as_postgres(fmt::format("kill -INT $(cat {}/pgbouncer.pid)", dir_)), dir_ + "/pgbouncer.out");
  std::string pidfile = dir_ + "/pgbouncer.pid";
  for (int i = 0; i < 300 && fs::exists(pidfile); ++i) usleep(10000);
}

std::string LocalCluster::pgbouncer_url(const std::string& database) const {
  return fmt::format("postgresql://postgres@/{}?host={}&port={}", database, dir_, pgbouncer_port());
}

std::string LocalCluster::url(const std::string& database) const {
  return fmt::format("postgresql://postgres@/{}?host={}&port={}", database, dir_, port());
}

}  // namespace vpnbot::db
