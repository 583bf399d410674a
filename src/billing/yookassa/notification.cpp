#include "billing/yookassa/notification.hpp"

#include "core/json.hpp"

namespace vpnbot::billing {

using nlohmann::json;

std::optional<YooKassaNotice> parse_yookassa_notification(const std::string& raw_body) {
  json j = parse_json_or_discarded(raw_body);
  if (!j.is_object() || j.value("type", json()) != "notification") return std::nullopt;
  auto event = j.find("event");
  auto object = j.find("object");
  if (event == j.end() || !event->is_string() || object == j.end() || !object->is_object()) return std::nullopt;
  auto id = object->find("id");
  if (id == object->end() || !id->is_string()) return std::nullopt;
  YooKassaNotice notice{event->get<std::string>(), id->get<std::string>(), std::move(j)};
  if (notice.event.empty() || notice.id.empty() || notice.id.size() > 64 || notice.event.size() > 64)
    return std::nullopt;
  return notice;
}

}  // namespace vpnbot::billing
