#pragma once
#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"

namespace vpnbot::testing {

// A child process of a test (usually the real vpnbot binary); its stdout+stderr go to a temp file. Move-only:
// a child still running when its Process goes away (a failed ASSERT returned early) is killed and reaped, so a
// failing test leaves no process behind.
struct Process {
  Process() = default;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  pid_t pid = 0;
  std::string log_path;
  std::string output() const;
  // Waits for exit (returns the status, 128+signal when killed); kills it with SIGKILL after the timeout (-1).
  int wait(Millis timeout);
  void signal(int sig) const;

 private:
  void kill_and_reap();
  void remove_log();
  std::optional<int> exit_status_;  // set once reaped
};

// Starts `binary args...` with the test's environment minus VPNBOT_* plus env_vars.
Process spawn_process(const std::string& binary, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env_vars);
Process spawn_vpnbot(const std::vector<std::string>& args, const std::map<std::string, std::string>& env_vars);
uint16_t free_port();
// Polls `condition` every 100 ms until it holds or `timeout` passes (for tests whose subjects run elsewhere:
// child processes, emulator threads); returns its last value.
bool wait_until(const std::function<bool()>& condition, Millis timeout = Millis(60000));
// A master key file (0600) for processes that need one; created once per test process.
const std::string& test_master_key_file();

}  // namespace vpnbot::testing
