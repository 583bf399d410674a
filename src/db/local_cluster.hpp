#pragma once
#include <string>

namespace vpnbot::db {

// A throwaway PostgreSQL cluster in a temp dir, reachable only through a unix socket in that dir
// (no TCP port, so any number can run side by side). initdb/postgres refuse root, so as root they run
// as the `postgres` user. Used by `vpnbot sandbox` and the tests; blocking: call it before the event loop.
class LocalCluster {
 public:
  struct Options {
    bool fsync = false;  // off for tests; the sandbox keeps it on
    std::string extra_settings;
  };
  explicit LocalCluster(Options options);
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  void start();
  void stop();  // fast shutdown: sessions get 57P01, like a real restart
  bool running() const { return running_; }
  std::string url(const std::string& database = "postgres") const;
  const std::string& dir() const { return dir_; }
  const std::string& socket_dir() const { return dir_; }
  int port() const { return 5432; }

  // A pgbouncer in transaction mode in front of this cluster, on a unix socket in the same dir
  // (for tests that prove the code needs no session state). Stopped with the cluster object.
  void start_pgbouncer();
  void stop_pgbouncer();
  std::string pgbouncer_url(const std::string& database = "postgres") const;
  int pgbouncer_port() const { return 6432; }

  // Stops and deletes throwaway clusters in /tmp whose creating process is gone (a sandbox or test that was
  // SIGKILLed); returns how many. Clusters of live processes are left alone.
  static int remove_abandoned();

  // Runs a command (argv[0] looked up in PATH) and returns its exit status; output goes to `log_file`.
  static int run(const std::vector<std::string>& argv, const std::string& log_file = "");

 private:
  static std::vector<std::string> as_postgres(const std::string& command);
  Options options_;
  std::string bin_;
  std::string dir_;
  bool running_ = false;
  bool pgbouncer_running_ = false;
};

}  // namespace vpnbot::db
