#include "vpn/remnawave/api.hpp"

#include <charconv>

#include "core/encoding.hpp"
#include "core/json.hpp"
#include "http/url.hpp"

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

ApiVersion api_version_from(int version) {
  if (version == 2) return ApiVersion::v2;
  if (version == 3) return ApiVersion::v3;
  throw std::invalid_argument("remnawave API version must be 2 or 3, not " + std::to_string(version));
}

json update_user_body(ApiVersion version, const std::string& ref, const DesiredUser& user) {
  json body{{"status", user.active ? "ACTIVE" : "DISABLED"},
            {"trafficLimitBytes", user.traffic_limit_bytes},
            {"trafficLimitStrategy", "NO_RESET"},
            {"activeInternalSquads", user.squads}};
  if (version == ApiVersion::v2) {
    body["uuid"] = ref;
  } else {
    int64_t id = 0;
    auto [end, ec] = std::from_chars(ref.data(), ref.data() + ref.size(), id);
    if (ec != std::errc() || end != ref.data() + ref.size() || id <= 0)
      throw std::invalid_argument("a 3.x panel user id must be a positive number, not \"" + ref + "\"");
    body["id"] = id;
  }
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

PanelUser parse_user(ApiVersion version, const json& object) {
  if (!object.is_object()) throw std::invalid_argument("panel user: not an object");
  PanelUser user;
  if (version == ApiVersion::v2) {
    user.ref = text_of(object, "uuid", true);
  } else {
    const json& id = field(object, "id");
    if (!id.is_number_integer() || id.get<int64_t>() <= 0)
      throw std::invalid_argument("panel user: id is not a positive integer");
    user.ref = std::to_string(id.get<int64_t>());
  }
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
  http::ClientRequest request{
      .method = method,
      .url = http::join_url(options_.base_url, path),
      .headers = {{"Authorization", "Bearer " + options_.token}, {"Accept", "application/json"}}};
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
  json parsed = parse_json_or_discarded(response.body);
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
    co_return parse_user(options_.version, *answer);
  } catch (const std::invalid_argument& e) {
    throw PanelError("remnawave " + what + ": " + e.what(), 200, true);
  }
}

awaitable<std::optional<PanelUser>> PanelApi::find_by_username(const std::string& username) {
  std::string path = "/api/users/by-username/" + username;
  auto answer = co_await call("GET", path, std::nullopt, true);
  if (!answer) co_return std::nullopt;
  try {
    co_return parse_user(options_.version, *answer);
  } catch (const std::invalid_argument& e) {
    throw PanelError("remnawave GET " + path + ": " + e.what(), 200, true);
  }
}

awaitable<PanelUser> PanelApi::create_user(const DesiredUser& user) {
  json body = create_user_body(user);
  co_return co_await user_call("POST", "/api/users", std::move(body));
}

awaitable<PanelUser> PanelApi::update_user(const std::string& ref, const DesiredUser& user) {
  json body = update_user_body(options_.version, ref, user);
  co_return co_await user_call("PATCH", "/api/users", std::move(body));
}

awaitable<PanelUser> PanelApi::revoke_subscription(const std::string& ref) {
  json body = json::object();
  co_return co_await user_call("POST", "/api/users/" + url_encode(ref) + "/actions/revoke", std::move(body));
}

awaitable<PanelUser> PanelApi::reset_traffic(const std::string& ref) {
  co_return co_await user_call("POST", "/api/users/" + url_encode(ref) + "/actions/reset-traffic", std::nullopt);
}

awaitable<bool> PanelApi::delete_user(const std::string& ref) {
  auto answer = co_await call("DELETE", "/api/users/" + url_encode(ref), std::nullopt, true);
  co_return answer.has_value();
}

awaitable<PanelApi::Page> PanelApi::list_users(int64_t start, int size) {
  std::string path = "/api/users?start=" + std::to_string(start) + "&size=" + std::to_string(size);
  auto answer = co_await call("GET", path, std::nullopt, false);
  Page page;
  const json& users = field(*answer, "users");
  if (!users.is_array()) throw PanelError("remnawave GET " + path + ": no users array", 200, true);
  try {
    for (const auto& u : users) page.users.push_back(parse_user(options_.version, u));
  } catch (const std::invalid_argument& e) {
    throw PanelError("remnawave GET " + path + ": " + e.what(), 200, true);
  }
  page.total = number_of(field(*answer, "total"));
  co_return page;
}

}  // namespace vpnbot::remnawave
