#include "core/process.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>

extern char** environ;

namespace vpnbot {

namespace {

// posix_spawnp with stdout+stderr appended to `log_file` ("" = inherited); `envp` null = this process's environment.
// `pipe_end` >= 0 becomes the child's stdin (`pipe_is_stdin`) or stdout; the log then takes only what remains.
pid_t spawn(const std::vector<std::string>& argv, char* const* envp, const std::string& log_file, int pipe_end = -1,
            bool pipe_is_stdin = false) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!log_file.empty()) {
    bool stdout_taken = pipe_end >= 0 && !pipe_is_stdin;
    posix_spawn_file_actions_addopen(&actions, 2, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (!stdout_taken) posix_spawn_file_actions_adddup2(&actions, 2, 1);
  }
  if (pipe_end >= 0) {
    posix_spawn_file_actions_adddup2(&actions, pipe_end, pipe_is_stdin ? 0 : 1);
    posix_spawn_file_actions_addclose(&actions, pipe_end);
  }
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), envp ? envp : environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

}  // namespace

int wait_for_child(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int run_process(const std::vector<std::string>& argv, const std::string& log_file) {
  return wait_for_child(spawn(argv, nullptr, log_file));
}

PipedChild spawn_piped(const std::vector<std::string>& argv, PipeDirection direction, const std::string& log_file,
                       const std::vector<std::string>& extra_environment) {
  std::vector<char*> environment;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    auto replaced = [&](const std::string& extra) {
      auto name = extra.substr(0, extra.find('=') + 1);
      return entry.substr(0, name.size()) == name;
    };
    if (std::none_of(extra_environment.begin(), extra_environment.end(), replaced)) environment.push_back(*e);
  }
  for (const auto& extra : extra_environment) environment.push_back(const_cast<char*>(extra.c_str()));
  environment.push_back(nullptr);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  bool child_reads = direction == PipeDirection::to_child;
  int child_end = child_reads ? fds[0] : fds[1];
  int our_end = child_reads ? fds[1] : fds[0];
  pid_t pid = 0;
  try {
    pid = spawn(argv, environment.data(), log_file, child_end, child_reads);
  } catch (const std::exception&) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(child_end);
  return PipedChild{pid, our_end};
}

int run_shell(const std::string& command) {
  return run_process({"sh", "-c", command}, "/dev/null");
}

std::string shell_output(const std::string& command) {
  std::string out;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    pclose(pipe);
  }
  return out;
}

void remove_network_namespace(const std::string& name) {
  std::string interfaces = shell_output("ip -n '" + name + "' -o link show 2>/dev/null | cut -d: -f2 | cut -d@ -f1");
  run_shell("ip netns pids '" + name + "' 2>/dev/null | xargs -r kill -9");
  run_process({"ip", "netns", "del", name}, "/dev/null");
  size_t start = 0;
  while (start < interfaces.size()) {
    size_t end = interfaces.find('\n', start);
    if (end == std::string::npos) end = interfaces.size();
    std::string ifname = interfaces.substr(start, end - start);
    ifname.erase(0, ifname.find_first_not_of(' '));
    if (!ifname.empty() && ifname.find('/') == std::string::npos)
      std::remove(("/var/run/wireguard/" + ifname + ".sock").c_str());
    start = end + 1;
  }
}

ChildProcess ChildProcess::start(const std::vector<std::string>& argv, const std::vector<std::string>& environment,
                                 const std::string& log_file) {
  std::vector<char*> envp;
  for (const auto& e : environment) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ChildProcess child;
  child.pid_ = spawn(argv, envp.data(), log_file);
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)), status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    stop(Millis(3000));
    pid_ = std::exchange(other.pid_, 0);
    status_ = std::exchange(other.status_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  stop(Millis(3000));
}

bool ChildProcess::running() {
  if (!pid_ || status_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int ChildProcess::stop(Millis grace) {
  if (!pid_) return 0;
  if (running()) {
    ::kill(pid_, SIGTERM);
    auto deadline = Clock::now() + grace;
    while (running() && Clock::now() < deadline) usleep(50000);
    if (running()) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      status_ = 128 + SIGKILL;
    }
  }
  return status_.value_or(0);
}

namespace {
awaitable<int> run_here(std::vector<std::string> argv, std::string log_file) {
  co_return run_process(argv, log_file);
}
}  // namespace

awaitable<int> run_process_async(asio::any_io_executor blocking, std::vector<std::string> argv, std::string log_file) {
  // A named operation, not a temporary inside co_await (g++ 12).
  auto op = asio::co_spawn(blocking, run_here(std::move(argv), std::move(log_file)), use_awaitable);
  co_return co_await std::move(op);
}

}  // namespace vpnbot
