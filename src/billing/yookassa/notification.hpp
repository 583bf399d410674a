#pragma once
// YooKassa's notification bodies: pure parsing, apart from HTTP and the database (unit-tested and fuzzed on its own).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace vpnbot::billing {

struct YooKassaNotice {
  std::string event;  // payment.succeeded, payment.canceled, refund.succeeded, ...
  std::string id;     // the object's id (at most 64 bytes)
  nlohmann::json body;
};
// A YooKassa notification ({"type":"notification","event":...,"object":{"id":...}}), or nullopt for anything else.
// Grants nothing by itself: the worker confirms the object with a GET before acting on it.
std::optional<YooKassaNotice> parse_yookassa_notification(const std::string& raw_body);

}  // namespace vpnbot::billing
