#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "emulator/http_emulator.hpp"
#include "http/server.hpp"

namespace vpnbot::emulator {

struct RemnawaveEmulatorOptions {
  HostPort listen{"127.0.0.1", 0};
  std::string token = "remnawave-emulator-api-token";
  // The panel's internal squads (uuid -> name); a user may only be given these.
  std::map<std::string, std::string> squads{{"6f1c7c5e-2f0b-4b8e-9a51-1f2d3c4b5a69", "Default-Squad"}};
  size_t max_exchanges = 20000;  // requests and answers kept for the contract test
  // The API generation: 2 (users addressed by uuid) or 3 (by numeric id; user objects carry no uuid).
  int api_version = 2;
};

// An emulator of the Remnawave panel's REST API 2.x or 3.x (contract @remnawave/backend-contract 2.x / 3.x) for the
// user routes a shop bot calls: create (POST /api/users), update (PATCH /api/users, by uuid (2.x) or id (3.x) or
// username), get by uuid / id / username,
// list (paged start/size), delete, and the enable/disable/revoke/reset-traffic actions. As the panel does: a Bearer
// token or 401, the contract's field rules or 400 "Validation failed" with the issues, the panel's own errors
// ({"message", "errorCode"} with its HTTP status: A025 user not found, A019 username taken, A118 squad not found),
// EXPIRED and LIMITED statuses worked out from expireAt and traffic, a subscription page per short uuid. A client API
// under /client/remnawave/ for tests: latency and failure injection (next N calls 5xx, or down until told
// otherwise), squads deleted and created, traffic use, the users, call counts and every exchange (for the contract
// check). Single-threaded: run
// it on its own io_context.
class RemnawaveEmulator : public HttpEmulator {
 public:
  RemnawaveEmulator(asio::any_io_executor ex, RemnawaveEmulatorOptions options);
  ~RemnawaveEmulator();
  void start();
  awaitable<void> shutdown();

 private:
  void register_routes();
  awaitable<http::Response> api(http::Request& request);
  http::Response users_api(const std::string& method, const std::string& path, const std::string& target,
                           const nlohmann::json& body);
  http::Response create_user(const nlohmann::json& body);
  http::Response update_user(const nlohmann::json& body);
  http::Response action(const std::string& uuid, const std::string& what);
  http::Response list_users(const std::string& target);
  nlohmann::json visible(const nlohmann::json& user) const;
  http::Response known_error(const std::string& path, const char* code, const std::string& message, int status) const;
  std::string new_uuid();
  std::string new_short_uuid();
  std::string now_iso() const;
  void record(const std::string& method, const std::string& path, const nlohmann::json& request, int status,
              const std::string& response_body);

  RemnawaveEmulatorOptions options_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::map<std::string, nlohmann::json> users_;  // by uuid
  std::map<std::string, std::string> by_username_;
  std::map<int64_t, std::string> by_id_;
  std::vector<std::string> order_;  // uuids in creation order (list pages)
  int64_t next_id_ = 1;
  std::string current_path_;  // of the request being answered (errors name it)
  // Injected weather.
  int latency_ms_ = 0;
  int fail_next_ = 0;
  int fail_status_ = 503;
  bool down_ = false;
  std::map<std::string, int64_t> calls_;  // "POST /api/users" -> count
  nlohmann::json exchanges_ = nlohmann::json::array();
};

}  // namespace vpnbot::emulator
