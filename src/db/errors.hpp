#pragma once
#include <exception>
#include <stdexcept>
#include <string>

namespace vpnbot::db {

// Base of every database error; sqlstate is empty when the server never answered.
class Error : public std::runtime_error {
 public:
  Error(const std::string& message, std::string sqlstate = {})
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// The connection is gone or could not be made (server down, restarted, network). The connection is discarded.
class ConnectionError : public Error {
  using Error::Error;
};
// No pooled connection became free within db_acquire_timeout_ms.
class PoolTimeout : public Error {
  using Error::Error;
};
// More callers are already waiting than db_pool_queue_max allows: shed load instead of queueing forever.
class PoolOverloaded : public Error {
  using Error::Error;
};
// The statement ran past its deadline and was cancelled on the server.
class QueryTimeout : public Error {
  using Error::Error;
};
class UniqueViolation : public Error {
  using Error::Error;
};
class ForeignKeyViolation : public Error {
  using Error::Error;
};
class CheckViolation : public Error {
  using Error::Error;
};
class NotNullViolation : public Error {
  using Error::Error;
};
class SerializationFailure : public Error {
  using Error::Error;
};
class DeadlockDetected : public Error {
  using Error::Error;
};
// Any other server-reported error (syntax, data type, ...).
class QueryError : public Error {
  using Error::Error;
};

[[noreturn]] void throw_sql_error(const std::string& sqlstate, const std::string& message);

// Serialization failures and deadlocks are resolved by running the whole transaction again.
bool is_retryable_transaction_error(const std::exception_ptr& e);
// Errors worth retrying later (connection loss, timeouts, pool pressure, serialization): used by job retries.
bool is_transient_error(const std::exception_ptr& e);

}  // namespace vpnbot::db
