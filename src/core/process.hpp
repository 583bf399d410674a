#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"

namespace vpnbot {

// Runs a command (argv[0] looked up in PATH) to completion and returns its exit status (128+signal if killed);
// output goes to `log_file` (appended) or is inherited. Blocking: off the event loop use run_process_async.
int run_process(const std::vector<std::string>& argv, const std::string& log_file = "");
// Waits for a child started by this process; its exit status (128+signal if killed).
int wait_for_child(pid_t pid);

// A child streaming through a pipe: its stdout to us (from_child) or our writes to its stdin (to_child). `fd` is our
// end (close it when done, then wait_for_child); stderr goes to `log_file` ("" = inherited). Blocking use only.
enum class PipeDirection { from_child, to_child };
struct PipedChild {
  pid_t pid = 0;
  int fd = -1;
};
// `extra_environment` ("KEY=value") is added to this process's environment for the child (a same-named variable
// replaced): how a secret reaches a tool without showing on its command line.
PipedChild spawn_piped(const std::vector<std::string>& argv, PipeDirection direction, const std::string& log_file,
                       const std::vector<std::string>& extra_environment = {});

// The same on the `blocking` executor, awaited from the event loop.
awaitable<int> run_process_async(asio::any_io_executor blocking, std::vector<std::string> argv, std::string log_file);
inline awaitable<int> run_process_async(asio::any_io_executor blocking, std::vector<std::string> argv) {
  return run_process_async(std::move(blocking), std::move(argv), std::string());
}

// `sh -c command` with its output discarded / captured (stdout only). Blocking: setup, tools and tests only.
int run_shell(const std::string& command);
std::string shell_output(const std::string& command);

// Deletes a network namespace with everything running in it (SIGKILL), and the UAPI sockets its wireguard-go
// interfaces leave in /var/run/wireguard (shared by all namespaces, so they would outlive it). Blocking.
void remove_network_namespace(const std::string& name);

// A child running in the background until stop(): SIGTERM, then SIGKILL when it outlives `grace`. Dropping a
// running ChildProcess stops it, so no child outlives its owner. Blocking waits: not for the event loop.
class ChildProcess {
 public:
  ChildProcess() = default;
  // argv[0] is looked up in PATH; `environment` ("KEY=value") replaces the inherited one; output is appended to
  // `log_file` ("" = inherited).
  static ChildProcess start(const std::vector<std::string>& argv, const std::vector<std::string>& environment,
                            const std::string& log_file);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running();
  // Returns the exit status (128+signal when killed); the status it already had when it ended by itself.
  int stop(Millis grace);

 private:
  pid_t pid_ = 0;
  std::optional<int> status_;
};

}  // namespace vpnbot
