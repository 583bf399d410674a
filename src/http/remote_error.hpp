#pragma once
#include <stdexcept>
#include <string>

namespace vpnbot::http {

// A remote service (a payment provider, a panel) answered a call with an error, or not at all: the HTTP status (0:
// no answer), whether the same call later may succeed (5xx, 429, timeouts) or the request itself was refused, and
// the service's own error code where its answer names one. Each client derives its own type, so a caller catches
// exactly the service it called.
class RemoteError : public std::runtime_error {
 public:
  RemoteError(const std::string& what, long status, bool retryable, std::string code = {})
      : std::runtime_error(what), status_(status), retryable_(retryable), code_(std::move(code)) {}
  long status() const { return status_; }
  bool retryable() const { return retryable_; }
  const std::string& code() const { return code_; }

 private:
  long status_;
  bool retryable_;
  std::string code_;
};

}  // namespace vpnbot::http
