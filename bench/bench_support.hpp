#pragma once
#include <optional>

#include "core/asio.hpp"

namespace vpnbot::bench {

// Runs one coroutine to completion on `io` (benchmarks drive the loop step by step) and rethrows its error.
template <typename T>
T run_on(asio::io_context& io, awaitable<T> task) {
  std::exception_ptr error;
  std::optional<T> value;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) value = std::move(v);
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*value);
}

}  // namespace vpnbot::bench
