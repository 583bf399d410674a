#include "vpn/remnawave/api.hpp"

namespace vpnbot::remnawave {

using nlohmann::json;

json create_user_body(const DesiredUser& user) {
  json body{{"username", user.username},
            {"status", user.active ? "ACTIVE" : "DISABLED"},
            {"expireAt", user.expire_at},
            {"trafficLimitBytes", user.traffic_limit_bytes},
            // Periods are reset by vpnbot when one is paid, not by the panel's calendar.
            {"trafficLimitStrategy", "NO_RESET"},
            {"activeInternalSquads", user.squads},
            {"description", "vpnbot"}};
  if (user.device_limit > 0) body["hwidDeviceLimit"] = user.device_limit;
  if (user.telegram_id != 0) body["telegramId"] = user.telegram_id;
  return body;
}

json update_user_body(const std::string& uuid, const DesiredUser& user) {
  json body{{"uuid", uuid},
            {"status", user.active ? "ACTIVE" : "DISABLED"},
            {"trafficLimitBytes", user.traffic_limit_bytes},
            {"trafficLimitStrategy", "NO_RESET"},
            {"activeInternalSquads", user.squads}};
  if (user.expire_in_future) body["expireAt"] = user.expire_at;
  if (user.device_limit > 0) body["hwidDeviceLimit"] = user.device_limit;
  if (user.telegram_id != 0) body["telegramId"] = user.telegram_id;
  return body;
}

namespace {
const json& field(const json& object, const char* key) {
  static const json missing;
  auto it = object.find(key);
  return it == object.end() ? missing : *it;
}
std::string text_of(const json& object, const char* key, bool required) {
  const json& value = field(object, key);
  if (value.is_string()) return value.get<std::string>();
  if (required || !value.is_null()) throw std::invalid_argument(std::string("panel user: ") + key + " is not a string");
  return "";
}
int64_t number_of(const json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number()) return static_cast<int64_t>(value.get<double>());
  return 0;
}
}  // namespace

PanelUser parse_user(const json& object) {
  if (!object.is_object()) throw std::invalid_argument("panel user: not an object");
  PanelUser user;
  user.uuid = text_of(object, "uuid", true);
  user.username = text_of(object, "username", true);
  user.short_uuid = text_of(object, "shortUuid", false);
  user.status = text_of(object, "status", true);
  user.subscription_url = text_of(object, "subscriptionUrl", true);
  user.expire_at = text_of(object, "expireAt", false);
  user.traffic_limit_bytes = number_of(field(object, "trafficLimitBytes"));
  // 2.3 moved the counters into userTraffic; older 2.x answers kept them on the user.
  const json& traffic = field(object, "userTraffic");
  user.used_traffic_bytes = traffic.is_object() ? number_of(field(traffic, "usedTrafficBytes"))
                                                : number_of(field(object, "usedTrafficBytes"));
  return user;
}

awaitable<std::optional<json>> PanelApi::call(std::string method, std::string path, std::optional<json> body,
                                              bool missing_ok) {
  http::ClientRequest request;
  request.method = method;
  std::string base = options_.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  request.url = base + path;
  request.headers.push_back({"Authorization", "Bearer " + options_.token});
  request.headers.push_back({"Accept", "application/json"});
  if (body) {
    request.headers.push_back({"Content-Type", "application/json"});
    request.body = body->dump();
  }
  request.timeout = options_.timeout;
  std::string what = method + " " + path;
  http::ClientResponse response;
  try {
    response = co_await client_.send(std::move(request));
  } catch (const http::TransportError& e) {
    throw PanelError("remnawave " + what + ": " + e.what(), 0, true);
  }
  if (missing_ok && response.status == 404) co_return std::nullopt;
  json parsed = json::parse(response.body, nullptr, false);
  if (response.status < 200 || response.status >= 300) {
    std::string message = "HTTP " + std::to_string(response.status);
    if (parsed.is_object() && parsed.contains("message")) {
      const json& m = parsed["message"];
      message += ": " + (m.is_string() ? m.get<std::string>() : m.dump());
    }
    std::string code;
    if (parsed.is_object() && parsed.contains("errorCode") && parsed["errorCode"].is_string()) {
      code = parsed["errorCode"].get<std::string>();
      message += " (" + code + ")";
    }
    // 401/403: a token being rotated, or a proxy in front of the panel; asking again later loses nothing.
    bool retryable = response.status == 429 || response.status >= 500 || response.status == 401 ||
                     response.status == 403 || response.status == 408;
    throw PanelError("remnawave " + what + ": " + message.substr(0, 500), response.status, retryable, code);
  }
  if (!parsed.is_object() || !parsed.contains("response"))
    throw PanelError("remnawave " + what + ": an answer without \"response\"", response.status, true);
  co_return parsed["response"];
}

awaitable<PanelUser> PanelApi::user_call(std::string method, std::string path, std::optional<json> body) {
  std::string what = method + " " + path;
  auto answer = co_await call(std::move(method), std::move(path), std::move(body), false);
  try {
    co_return parse_user(*answer);
  } catch (const std::invalid_argument& e) {
    throw PanelError("remnawave " + what + ": " + e.what(), 200, true);
  }
}

awaitable<std::optional<PanelUser>> PanelApi::find_by_username(const std::string& username) {
  std::string path = "/api/users/by-username/" + username;
  auto answer = co_await call("GET", path, std::nullopt, true);
  if (!answer) co_return std::nullopt;
  try {
    co_return parse_user(*answer);
  } catch (const std::invalid_argument& e) {
    throw PanelError("remnawave GET " + path + ": " + e.what(), 200, true);
  }
}

awaitable<PanelUser> PanelApi::create_user(const DesiredUser& user) {
  json body = create_user_body(user);
  co_return co_await user_call("POST", "/api/users", std::move(body));
}

awaitable<PanelUser> PanelApi::update_user(const std::string& uuid, const DesiredUser& user) {
  json body = update_user_body(uuid, user);
  co_return co_await user_call("PATCH", "/api/users", std::move(body));
}

awaitable<PanelUser> PanelApi::revoke_subscription(const std::string& uuid) {
  json body = json::object();
  co_return co_await user_call("POST", "/api/users/" + uuid + "/actions/revoke", std::move(body));
}

awaitable<PanelUser> PanelApi::reset_traffic(const std::string& uuid) {
  co_return co_await user_call("POST", "/api/users/" + uuid + "/actions/reset-traffic", std::nullopt);
}

awaitable<bool> PanelApi::delete_user(const std::string& uuid) {
  auto answer = co_await call("DELETE", "/api/users/" + uuid, std::nullopt, true);
  co_return answer.has_value();
}

awaitable<PanelApi::Page> PanelApi::list_users(int64_t start, int size) {
  std::string path = "/api/users?start=" + std::to_string(start) + "&size=" + std::to_string(size);
  auto answer = co_await call("GET", path, std::nullopt, false);
  Page page;
  const json& users = field(*answer, "users");
  if (!users.is_array()) throw PanelError("remnawave GET " + path + ": no users array", 200, true);
  try {
    for (const auto& u : users) page.users.push_back(parse_user(u));
  } catch (const std::invalid_argument& e) {
    throw PanelError("remnawave GET " + path + ": " + e.what(), 200, true);
  }
  page.total = number_of(field(*answer, "total"));
  co_return page;
}

}  // namespace vpnbot::remnawave
