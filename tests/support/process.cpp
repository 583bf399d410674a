#include "support/process.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <thread>

#include "support/build_paths.hpp"
#include "vpn/keys.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace vpnbot::testing {

std::string Process::output() const {
  std::ifstream in(log_path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Process::Process(Process&& other) noexcept
    : pid(other.pid), log_path(std::move(other.log_path)), exit_status_(other.exit_status_) {
  other.pid = 0;
}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    kill_and_reap();  // not ~Process(): that would also destroy log_path, which is assigned next
    remove_log();
    pid = other.pid;
    log_path = std::move(other.log_path);
    exit_status_ = other.exit_status_;
    other.pid = 0;
  }
  return *this;
}

Process::~Process() {
  kill_and_reap();
  remove_log();
}

void Process::remove_log() {
  // A failed test keeps its processes' logs for reading; a passing one leaves nothing behind in /tmp.
  if (!log_path.empty() && !::testing::Test::HasFailure()) std::remove(log_path.c_str());
}

void Process::kill_and_reap() {
  if (pid > 0 && !exit_status_) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    exit_status_ = 128 + SIGKILL;
  }
}

int Process::wait(Millis timeout) {
  if (exit_status_) return *exit_status_;
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return *exit_status_;
    }
    usleep(20000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  exit_status_ = -1;
  return -1;
}

void Process::signal(int sig) const {
  if (pid > 0 && !exit_status_) kill(pid, sig);
}

Process spawn_process(const std::string& binary, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env_vars) {
  Process p;
  char path[] = "/tmp/vpnbot-e2e-log-XXXXXX";
  close(mkstemp(path));
  p.log_path = path;
  std::vector<std::string> argv_s{binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e)
    if (std::string_view(*e).rfind("VPNBOT_", 0) != 0) env_s.emplace_back(*e);
  for (auto& [k, v] : env_vars) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, p.log_path.c_str(), O_WRONLY | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  int rc = posix_spawn(&p.pid, binary.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot spawn " + binary);
  return p;
}

Process spawn_vpnbot(const std::vector<std::string>& args, const std::map<std::string, std::string>& env_vars) {
  return spawn_process(kVpnbotBinary, args, env_vars);
}

uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

const std::string& test_master_key_file() {
  static const std::string path = [] {
    std::string p = "/tmp/vpnbot-test-master-" + std::to_string(::getpid()) + ".key";
    ::unlink(p.c_str());
    vpn::SecretBox::from_file(p, true);
    std::atexit([] { ::unlink(("/tmp/vpnbot-test-master-" + std::to_string(::getpid()) + ".key").c_str()); });
    return p;
  }();
  return path;
}

bool wait_until(const std::function<bool()>& condition, Millis timeout) {
  auto until = Clock::now() + timeout;
  while (Clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(Millis(100));
  }
  return condition();
}

}  // namespace vpnbot::testing
