#include "emulator/remnawave_emulator.hpp"

#include <fmt/chrono.h>
#include <chrono>
#include <regex>

#include "core/encoding.hpp"
#include "core/log.hpp"
#include "emulator/common.hpp"

namespace vpnbot::emulator {

using http::bhttp::status;
using nlohmann::json;

namespace {

constexpr int64_t kMaxSafeInteger = 9007199254740991;  // JSON numbers the panel (JavaScript) reads exactly

std::string iso(std::chrono::system_clock::time_point at) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(static_cast<std::time_t>(ms / 1000)), ms % 1000);
}

// zod's .datetime({offset: true, local: true}) in the contract: a date and time with optional fraction and zone.
std::optional<std::chrono::system_clock::time_point> parse_datetime(const json& value) {
  if (!value.is_string()) return std::nullopt;
  static const std::regex pattern(R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$)");
  std::smatch m;
  std::string text = value.get<std::string>();
  if (!std::regex_match(text, m, pattern)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (m[7].matched) at += std::chrono::milliseconds(static_cast<int64_t>(std::stod("0" + m[7].str()) * 1000));
  if (m[8].matched && m[8].str() != "Z") {
    std::string zone = m[8].str();
    int sign = zone[0] == '-' ? -1 : 1;
    std::string digits;
    for (char c : zone)
      if (std::isdigit(static_cast<unsigned char>(c))) digits += c;
    int minutes = std::stoi(digits.substr(0, 2)) * 60 + std::stoi(digits.substr(2, 2));
    at -= std::chrono::minutes(sign * minutes);
  }
  return at;
}

bool is_uuid(const json& value) {
  static const std::regex pattern("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$");
  return value.is_string() && std::regex_match(value.get<std::string>(), pattern);
}

// One zod issue as nestjs-zod reports it.
json issue(const std::string& field, const std::string& message) {
  return {{"code", "custom"}, {"message", message}, {"path", json::array({field})}};
}

http::Response validation_failed(const json& issues) {
  return http::json_response(status::bad_request,
                             {{"statusCode", 400}, {"message", "Validation failed"}, {"errors", issues}});
}

bool non_negative_int(const json& v) {
  return v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() <= kMaxSafeInteger;
}

const std::vector<std::string> kResetPeriods{"NO_RESET", "DAY", "WEEK", "MONTH", "MONTH_ROLLING"};

// The fields both create and update accept, checked as the contract does.
void check_common(const json& body, json& issues) {
  if (body.contains("trafficLimitBytes") && !non_negative_int(body["trafficLimitBytes"]))
    issues.push_back(issue("trafficLimitBytes", "Traffic limit must be an integer greater than 0"));
  if (body.contains("trafficLimitStrategy") &&
      (!body["trafficLimitStrategy"].is_string() ||
       std::find(kResetPeriods.begin(), kResetPeriods.end(), body["trafficLimitStrategy"].get<std::string>()) ==
           kResetPeriods.end()))
    issues.push_back(issue("trafficLimitStrategy", "Invalid traffic limit strategy"));
  if (body.contains("telegramId") && !body["telegramId"].is_null() && !body["telegramId"].is_number_integer())
    issues.push_back(issue("telegramId", "Expected integer"));
  if (body.contains("hwidDeviceLimit") && !body["hwidDeviceLimit"].is_null() &&
      !non_negative_int(body["hwidDeviceLimit"]))
    issues.push_back(issue("hwidDeviceLimit", "Device limit must be a non-negative integer"));
  if (body.contains("description") && !body["description"].is_null() && !body["description"].is_string())
    issues.push_back(issue("description", "Expected string"));
  if (body.contains("activeInternalSquads")) {
    const json& squads = body["activeInternalSquads"];
    if (!squads.is_array()) {
      issues.push_back(issue("activeInternalSquads", "Enabled internal squads must be an array"));
    } else {
      for (const auto& s : squads)
        if (!is_uuid(s)) issues.push_back(issue("activeInternalSquads", "Invalid uuid"));
    }
  }
}

}  // namespace

RemnawaveEmulator::RemnawaveEmulator(asio::any_io_executor ex, RemnawaveEmulatorOptions options)
    : HttpEmulator(ex), options_(std::move(options)) {
  register_routes();
  server_ = std::make_unique<http::Server>(ex_, http::ServerOptions{options_.listen}, router_);
}

RemnawaveEmulator::~RemnawaveEmulator() = default;

void RemnawaveEmulator::start() {
  server_->start();
  log::info("emulator", "remnawave panel emulator listening", {{"url", base_url()}});
}

awaitable<void> RemnawaveEmulator::shutdown() {
  co_await server_->shutdown(Millis(1000));
}

std::string RemnawaveEmulator::now_iso() const {
  return iso(std::chrono::system_clock::now());
}

std::string RemnawaveEmulator::new_uuid() {
  uint64_t a = rng_(), b = rng_();
  a = (a & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 1
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFFF),
                static_cast<unsigned>(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
  return buffer;
}

std::string RemnawaveEmulator::new_short_uuid() {
  static const char* alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  for (int i = 0; i < 16; ++i) out += alphabet[rng_() % 57];
  return out;
}

http::Response RemnawaveEmulator::known_error(const std::string& path, const char* code, const std::string& message,
                                              int http_status) const {
  return http::json_response(static_cast<status>(http_status),
                             {{"timestamp", now_iso()}, {"path", path}, {"message", message}, {"errorCode", code}});
}

void RemnawaveEmulator::record(const std::string& method, const std::string& path, const json& request, int http_status,
                               const std::string& response_body) {
  if (exchanges_.size() >= options_.max_exchanges) return;
  json response = json::parse(response_body, nullptr, false);
  exchanges_.push_back({{"method", method},
                        {"path", path},
                        {"request", request},
                        {"status", http_status},
                        {"response", response.is_discarded() ? json(nullptr) : response}});
}

json RemnawaveEmulator::visible(const json& user) const {
  json out = user;
  if (options_.api_version == 3) out.erase("uuid");  // 3.x knows users by id only
  auto expire = parse_datetime(user["expireAt"]);
  std::string stored = user["status"];
  // The panel's own jobs turn an ACTIVE user EXPIRED past expireAt, LIMITED past the traffic limit.
  if (stored == "ACTIVE" && expire && *expire <= std::chrono::system_clock::now()) out["status"] = "EXPIRED";
  int64_t limit = user["trafficLimitBytes"];
  if (out["status"] == "ACTIVE" && limit > 0 && user["userTraffic"]["usedTrafficBytes"].get<int64_t>() >= limit)
    out["status"] = "LIMITED";
  json squads = json::array();
  for (const auto& uuid : user["activeInternalSquads"]) {
    auto it = options_.squads.find(uuid.get<std::string>());
    squads.push_back({{"uuid", uuid}, {"name", it == options_.squads.end() ? "" : it->second}});
  }
  out["activeInternalSquads"] = squads;
  out["subscriptionUrl"] = base_url() + "/api/sub/" + user["shortUuid"].get<std::string>();
  return out;
}

void RemnawaveEmulator::register_routes() {
  using http::bhttp::verb;
  for (verb v : {verb::get, verb::post, verb::patch, verb::delete_})
    router_.add_prefix(v, "/api/", [this](http::Request& r) { return api(r); });

  router_.add(verb::post, "/client/remnawave/config", [this](http::Request& r) -> awaitable<http::Response> {
    json body = json::parse(r.message.body(), nullptr, false);
    if (!body.is_object()) co_return http::make_response(status::bad_request, "expected a JSON object");
    latency_ms_ = body.value("latency_ms", latency_ms_);
    fail_next_ = body.value("fail_next", fail_next_);
    fail_status_ = body.value("fail_status", fail_status_);
    down_ = body.value("down", down_);
    // An admin deleting a squad on the panel (users keep it; new assignments of it are refused), or creating one.
    if (body.contains("remove_squad") && body["remove_squad"].is_string())
      options_.squads.erase(body["remove_squad"].get<std::string>());
    if (body.contains("add_squad") && body["add_squad"].is_object())
      options_.squads[body["add_squad"].value("uuid", "")] = body["add_squad"].value("name", "Squad");
    co_return http::json_response(status::ok, {{"ok", true}});
  });
  router_.add(verb::post, "/client/remnawave/traffic", [this](http::Request& r) -> awaitable<http::Response> {
    json body = json::parse(r.message.body(), nullptr, false);
    if (!body.is_object() || !body.contains("username") || !body["username"].is_string())
      co_return http::make_response(status::bad_request, "expected {username, bytes}");
    auto it = by_username_.find(body["username"].get<std::string>());
    if (it == by_username_.end()) co_return http::make_response(status::not_found, "no such user");
    json& traffic = users_[it->second]["userTraffic"];
    int64_t bytes = body.value("bytes", int64_t{0});
    traffic["usedTrafficBytes"] = traffic["usedTrafficBytes"].get<int64_t>() + bytes;
    traffic["lifetimeUsedTrafficBytes"] = traffic["lifetimeUsedTrafficBytes"].get<int64_t>() + bytes;
    traffic["onlineAt"] = now_iso();
    co_return http::json_response(status::ok, {{"ok", true}});
  });
  router_.add(verb::get, "/client/remnawave/users", [this](http::Request&) -> awaitable<http::Response> {
    json out = json::array();
    for (const auto& uuid : order_)
      if (users_.count(uuid)) out.push_back(visible(users_.at(uuid)));
    co_return http::json_response(status::ok, {{"users", out}});
  });
  router_.add(verb::get, "/client/remnawave/stats", [this](http::Request&) -> awaitable<http::Response> {
    co_return http::json_response(status::ok, {{"calls", calls_}, {"users", users_.size()}});
  });
  router_.add(verb::get, "/client/remnawave/exchanges", [this](http::Request&) -> awaitable<http::Response> {
    co_return http::json_response(status::ok, {{"exchanges", exchanges_}});
  });
}

awaitable<http::Response> RemnawaveEmulator::api(http::Request& request) {
  std::string method(request.message.method_string());
  std::string path(request.path());
  std::string target(request.target());
  // The subscription page itself is public (clients fetch it by its secret short uuid).
  if (method == "GET" && path.rfind("/api/sub/", 0) == 0) {
    std::string short_uuid = path.substr(9);
    for (const auto& [uuid, user] : users_) {
      if (user["shortUuid"] != short_uuid) continue;
      json shown = visible(user);
      if (shown["status"] != "ACTIVE") break;  // the panel serves no servers to a disabled/expired/limited user
      std::string links = "vless://" + user["vlessUuid"].get<std::string>() +
                          "@127.0.0.1:443?security=reality&type=tcp&flow=xtls-rprx-vision#" +
                          user["username"].get<std::string>();
      co_return http::make_response(status::ok, to_base64(links));
    }
    co_return http::make_response(status::not_found, "Not found");
  }
  ++calls_[method + " " + path];
  if (latency_ms_ > 0) co_await sleep_for(Millis(latency_ms_));
  json body = request.message.body().empty() ? json(nullptr) : json::parse(request.message.body(), nullptr, false);
  http::Response response;
  if (down_ || fail_next_ > 0) {
    if (fail_next_ > 0) --fail_next_;
    response = http::make_response(static_cast<status>(fail_status_), "<html>502 Bad Gateway</html>", "text/html");
  } else if (request.header("Authorization") != "Bearer " + options_.token) {
    response = http::json_response(status::unauthorized, {{"message", "Unauthorized"}, {"statusCode", 401}});
  } else if (body.is_discarded()) {
    response = validation_failed(json::array({issue("body", "Invalid JSON")}));
  } else {
    current_path_ = path;
    response = users_api(method, path, target, body);
  }
  record(method, target, body.is_discarded() ? json(nullptr) : body, static_cast<int>(response.result_int()),
         response.body());
  co_return response;
}

http::Response RemnawaveEmulator::users_api(const std::string& method, const std::string& path,
                                            const std::string& target, const json& body) {
  const std::string users = "/api/users";
  if ((path == users || path == users + "/") && method == "POST") return create_user(body);
  if ((path == users || path == users + "/") && method == "PATCH") return update_user(body);
  if ((path == users || path == users + "/") && method == "GET") return list_users(target);
  if (path.rfind(users + "/by-username/", 0) == 0 && method == "GET") {
    auto it = by_username_.find(path.substr(users.size() + 13));
    if (it == by_username_.end()) return known_error(path, "A025", "User not found", 404);
    return http::json_response(status::ok, {{"response", visible(users_.at(it->second))}});
  }
  if (path.rfind(users + "/", 0) != 0) return known_error(path, "A000", "Cannot " + method + " " + path, 404);
  std::string rest = path.substr(users.size() + 1);
  auto slash = rest.find('/');
  std::string uuid = rest.substr(0, slash);
  if (options_.api_version == 3) {
    // 3.x: the path carries the numeric id (numberParamSchema).
    std::string id = uuid;
    if (id.empty() || id.size() > 15 || id.find_first_not_of("0123456789") != std::string::npos)
      return validation_failed(json::array({issue("userId", "Expected number, received nan")}));
    auto known = by_id_.find(std::stoll(id));
    uuid = known == by_id_.end() ? std::string() : known->second;
  } else if (!is_uuid(json(uuid))) {
    return validation_failed(json::array({issue("uuid", "Invalid uuid")}));
  }
  if (slash == std::string::npos) {
    auto it = users_.find(uuid);
    if (method == "GET") {
      if (it == users_.end()) return known_error(path, "A025", "User not found", 404);
      return http::json_response(status::ok, {{"response", visible(it->second)}});
    }
    if (method == "DELETE") {
      if (it == users_.end()) return known_error(path, "A025", "User not found", 404);
      by_username_.erase(it->second["username"].get<std::string>());
      by_id_.erase(it->second["id"].get<int64_t>());
      order_.erase(std::remove(order_.begin(), order_.end(), uuid), order_.end());
      users_.erase(it);
      return http::json_response(status::ok, {{"response", {{"isDeleted", true}}}});
    }
  }
  if (slash != std::string::npos && method == "POST" && rest.substr(slash, 9) == "/actions/")
    return action(uuid, rest.substr(slash + 9));
  return known_error(path, "A000", "Cannot " + method + " " + path, 404);
}

http::Response RemnawaveEmulator::create_user(const json& body) {
  if (!body.is_object()) return validation_failed(json::array({issue("body", "Expected object")}));
  json issues = json::array();
  static const std::regex username_pattern("^[a-zA-Z0-9_-]+$");
  const json& username = body.contains("username") ? body["username"] : json(nullptr);
  if (!username.is_string())
    issues.push_back(issue("username", "Username is required"));
  else if (username.get<std::string>().size() < 3 || username.get<std::string>().size() > 36 ||
           !std::regex_match(username.get<std::string>(), username_pattern))
    issues.push_back(issue("username", "Username can only contain letters, numbers, underscores and dashes"));
  if (!body.contains("expireAt") || !parse_datetime(body["expireAt"]))
    issues.push_back(issue("expireAt", "Invalid date format"));
  if (body.contains("status") && body["status"] != "ACTIVE" && body["status"] != "DISABLED" &&
      body["status"] != "LIMITED" && body["status"] != "EXPIRED")
    issues.push_back(issue("status", "Invalid enum value"));
  check_common(body, issues);
  if (!issues.empty()) return validation_failed(issues);
  if (by_username_.count(username.get<std::string>()))
    return known_error(current_path_, "A019", "User username already exists", 400);
  for (const auto& s : body.value("activeInternalSquads", json::array()))
    if (!options_.squads.count(s.get<std::string>()))
      return known_error(current_path_, "A118", "Internal squad not found", 404);
  std::string uuid = new_uuid(), now = now_iso();
  int64_t id = next_id_++;
  json user{{"uuid", uuid},
            {"id", id},
            {"shortUuid", new_short_uuid()},
            {"username", username},
            {"status", body.value("status", "ACTIVE")},
            {"trafficLimitBytes", body.value("trafficLimitBytes", int64_t{0})},
            {"trafficLimitStrategy", body.value("trafficLimitStrategy", "NO_RESET")},
            {"expireAt", iso(*parse_datetime(body["expireAt"]))},
            {"telegramId", body.value("telegramId", json(nullptr))},
            {"email", body.value("email", json(nullptr))},
            {"description", body.value("description", json(nullptr))},
            {"tag", body.value("tag", json(nullptr))},
            {"hwidDeviceLimit", body.value("hwidDeviceLimit", json(nullptr))},
            {"externalSquadUuid", nullptr},
            {"trojanPassword", new_short_uuid()},
            {"vlessUuid", new_uuid()},
            {"ssPassword", new_short_uuid()},
            {"lastTriggeredThreshold", 0},
            {"subRevokedAt", nullptr},
            {"lastTrafficResetAt", nullptr},
            {"createdAt", now},
            {"updatedAt", now},
            {"activeInternalSquads", body.value("activeInternalSquads", json::array())},
            {"userTraffic",
             {{"usedTrafficBytes", 0},
              {"lifetimeUsedTrafficBytes", 0},
              {"onlineAt", nullptr},
              {"firstConnectedAt", nullptr},
              {"lastConnectedNodeUuid", nullptr}}}};
  users_[uuid] = user;
  by_username_[username.get<std::string>()] = uuid;
  by_id_[id] = uuid;
  order_.push_back(uuid);
  return http::json_response(status::created, {{"response", visible(user)}});
}

http::Response RemnawaveEmulator::update_user(const json& body) {
  if (!body.is_object()) return validation_failed(json::array({issue("body", "Expected object")}));
  json issues = json::array();
  // 2.x: by uuid or username; 3.x: by id or username (a uuid there is an unknown key, stripped by zod).
  const char* key = options_.api_version == 3 ? "id" : "uuid";
  bool by_key = body.contains(key);
  if (by_key && options_.api_version == 2 && !is_uuid(body[key])) issues.push_back(issue("uuid", "Invalid uuid"));
  if (by_key && options_.api_version == 3 && !body[key].is_number())
    issues.push_back(issue("id", "Invalid input: expected number"));
  bool by_username = body.contains("username") && body["username"].is_string();
  if (!by_key && !by_username)
    issues.push_back(issue("", options_.api_version == 3 ? "At least one of username, id must be provided"
                                                         : "Either uuid or username must be provided"));
  if (body.contains("status") && body["status"] != "ACTIVE" && body["status"] != "DISABLED")
    issues.push_back(
        issue("status", "You can't change status to LIMITED or EXPIRED. These statuses handled by Remnawave."));
  std::optional<std::chrono::system_clock::time_point> expire;
  if (body.contains("expireAt")) {
    expire = parse_datetime(body["expireAt"]);
    if (!expire)
      issues.push_back(issue("expireAt", "Invalid date format"));
    else if (*expire <= std::chrono::system_clock::now())
      issues.push_back(issue("expireAt", "Expiration date cannot be in the past"));
  }
  check_common(body, issues);
  if (!issues.empty()) return validation_failed(issues);
  std::string uuid;
  if (by_key && options_.api_version == 2) {
    uuid = body["uuid"];
  } else if (by_key) {
    auto known = by_id_.find(body["id"].get<int64_t>());
    if (known != by_id_.end()) uuid = known->second;
  } else {
    auto it = by_username_.find(body["username"].get<std::string>());
    if (it != by_username_.end()) uuid = it->second;
  }
  auto it = users_.find(uuid);
  if (it == users_.end()) return known_error(current_path_, "A025", "User not found", 404);
  for (const auto& s : body.value("activeInternalSquads", json::array()))
    if (!options_.squads.count(s.get<std::string>()))
      return known_error(current_path_, "A118", "Internal squad not found", 404);
  json& user = it->second;
  for (const char* key : {"status", "trafficLimitBytes", "trafficLimitStrategy", "description", "tag", "telegramId",
                          "email", "hwidDeviceLimit", "activeInternalSquads"})
    if (body.contains(key)) user[key] = body[key];
  if (expire) user["expireAt"] = iso(*expire);
  user["updatedAt"] = now_iso();
  return http::json_response(status::ok, {{"response", visible(user)}});
}

http::Response RemnawaveEmulator::action(const std::string& uuid, const std::string& what) {
  auto it = users_.find(uuid);
  if (it == users_.end()) return known_error(current_path_, "A025", "User not found", 404);
  json& user = it->second;
  if (what == "enable" || what == "disable") {
    bool enable = what == "enable";
    if ((user["status"] == "ACTIVE") == enable)
      return known_error(current_path_, enable ? "A030" : "A029",
                         enable ? "User already enabled" : "User already disabled", 400);
    user["status"] = enable ? "ACTIVE" : "DISABLED";
  } else if (what == "revoke") {
    user["shortUuid"] = new_short_uuid();
    user["vlessUuid"] = new_uuid();
    user["trojanPassword"] = new_short_uuid();
    user["ssPassword"] = new_short_uuid();
    user["subRevokedAt"] = now_iso();
  } else if (what == "reset-traffic") {
    user["userTraffic"]["usedTrafficBytes"] = 0;
    user["lastTrafficResetAt"] = now_iso();
  } else {
    return known_error(current_path_, "A000", "Cannot POST " + current_path_, 404);
  }
  user["updatedAt"] = now_iso();
  return http::json_response(status::ok, {{"response", visible(user)}});
}

http::Response RemnawaveEmulator::list_users(const std::string& target) {
  auto params = query_params(target);
  int64_t start = 0, size = 25;
  try {
    if (params.count("start")) start = std::stoll(params["start"]);
    if (params.count("size")) size = std::stoll(params["size"]);
  } catch (const std::exception&) {
    return validation_failed(json::array({issue("size", "Expected number")}));
  }
  if (size < 1 || size > 1000) return validation_failed(json::array({issue("size", "Size (limit) must be 1-1000")}));
  if (start < 0) start = 0;
  json page = json::array();
  for (int64_t i = start; i < static_cast<int64_t>(order_.size()) && i < start + size; ++i)
    page.push_back(visible(users_.at(order_[i])));
  return http::json_response(status::ok,
                             {{"response", {{"users", page}, {"total", static_cast<int64_t>(order_.size())}}}});
}

}  // namespace vpnbot::emulator
