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

bool is_retryable_transaction_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const SerializationFailure&) {
    return true;
  } catch (const DeadlockDetected&) {
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool is_transient_error(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const SerializationFailure&) {
    return true;
  } catch (const DeadlockDetected&) {
    return true;
  } catch (const ConnectionError&) {
    return true;
  } catch (const PoolTimeout&) {
    return true;
  } catch (const PoolOverloaded&) {
    return true;
  } catch (const QueryTimeout&) {
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace vpnbot::db
