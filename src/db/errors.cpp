#include "db/errors.hpp"

namespace vpnbot::db {

void throw_sql_error(const std::string& sqlstate, const std::string& message) {
  if (sqlstate == "23505") throw UniqueViolation(message, sqlstate);
  if (sqlstate == "23503") throw ForeignKeyViolation(message, sqlstate);
  if (sqlstate == "23514") throw CheckViolation(message, sqlstate);
  if (sqlstate == "23502") throw NotNullViolation(message, sqlstate);
  if (sqlstate == "40001") throw SerializationFailure(message, sqlstate);
  if (sqlstate == "40P01") throw DeadlockDetected(message, sqlstate);
  if (sqlstate == "57014") throw QueryTimeout(message, sqlstate);
  // Class 08 (connection exception), 57P01..57P03 (admin/crash shutdown, cannot connect now).
  if (sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03")
    throw ConnectionError(message, sqlstate);
  throw QueryError(message, sqlstate);
}

namespace {

// Whether the exception is one of Errors (or derived from one); anything not a std::exception propagates.
template <typename... Errors>
bool is_one_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& error) {
    return ((dynamic_cast<const Errors*>(&error) != nullptr) || ...);
  }
}

}  // namespace

bool is_retryable_transaction_error(const std::exception_ptr& e) {
  return is_one_of<SerializationFailure, DeadlockDetected>(e);
}

bool is_transient_error(const std::exception_ptr& e) {
  return is_one_of<SerializationFailure, DeadlockDetected, ConnectionError, PoolTimeout, PoolOverloaded, QueryTimeout>(
      e);
}

}  // namespace vpnbot::db
