#pragma once
#include <string>
#include <vector>

#include "core/asio.hpp"

namespace vpnbot {

// Runs a command (argv[0] looked up in PATH) to completion and returns its exit status (128+signal if killed);
// output goes to `log_file` (appended) or is inherited. Blocking: off the event loop use run_process_async.
int run_process(const std::vector<std::string>& argv, const std::string& log_file = "");
// The same on the `blocking` executor, awaited from the event loop.
awaitable<int> run_process_async(asio::any_io_executor blocking, std::vector<std::string> argv, std::string log_file);
inline awaitable<int> run_process_async(asio::any_io_executor blocking, std::vector<std::string> argv) {
  return run_process_async(std::move(blocking), std::move(argv), std::string());
}

}  // namespace vpnbot
