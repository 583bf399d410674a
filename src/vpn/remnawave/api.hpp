#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "http/client.hpp"
#include "http/remote_error.hpp"

namespace vpnbot::remnawave {

// The panel answered with an error, or not at all. retryable: the panel was down, slow or overloaded (5xx, 429,
// timeouts, an answer that is not the documented shape), so the same call later may succeed; otherwise (4xx) the
// request itself was refused and `what()` carries the panel's message for an admin.
// code(): the panel's errorCode (A025 user not found, A118 squad not found, ...), when it gave one.
class PanelError : public http::RemoteError {
 public:
  using RemoteError::RemoteError;
};

// What vpnbot wants the panel to hold for one account.
struct DesiredUser {
  std::string username;
  bool active = true;
  std::string expire_at;  // ISO 8601 UTC, e.g. 2026-12-03T10:00:00.000Z
  bool expire_in_future = true;
  int64_t traffic_limit_bytes = 0;  // 0: unlimited
  int device_limit = 0;             // hwidDeviceLimit; 0: none
  int64_t telegram_id = 0;
  std::vector<std::string> squads;  // internal squad uuids
};

// The panel's API generation: 2.x addresses users by uuid, 3.x by a numeric id (and has no uuid at all).
enum class ApiVersion { v2 = 2, v3 = 3 };
// 2 or 3 (a node's api_version); throws std::invalid_argument for any other.
ApiVersion api_version_from(int version);

// The fields of the panel's user object vpnbot reads (ExtendedUsersSchema of the contract).
struct PanelUser {
  std::string ref;  // how the API addresses the user: its uuid (2.x), its id as decimal text (3.x)
  std::string short_uuid;
  std::string username;
  std::string status;  // ACTIVE, DISABLED, LIMITED, EXPIRED
  std::string subscription_url;
  std::string expire_at;
  int64_t traffic_limit_bytes = 0;
  int64_t used_traffic_bytes = 0;
};

// Request bodies, built apart from the transport so they are unit-tested against the contract's rules.
nlohmann::json create_user_body(const DesiredUser& user);
// PATCH /api/users: by uuid (2.x) or id (3.x), the whole desired state. The panel refuses an expiry in the past, so
// an account whose subscription already ended keeps the panel's expiry and is only disabled.
nlohmann::json update_user_body(ApiVersion version, const std::string& ref, const DesiredUser& user);
// Reads a user object (`response` of the panel's answer). Throws std::invalid_argument on another shape.
PanelUser parse_user(ApiVersion version, const nlohmann::json& object);

struct PanelOptions {
  std::string base_url;  // e.g. https://panel.example.com (the API lives under /api)
  std::string token;     // an API token from the panel's settings, sent as a Bearer token
  Millis timeout{10000};
  ApiVersion version = ApiVersion::v2;
};

// The Remnawave panel's REST API, 2.x or 3.x (contract @remnawave/backend-contract 2.x / 3.x, chosen per node):
// users addressed by `ref` (uuid / numeric id), looked up by username; answers {"response": ...}; errors
// {"message": ..., "errorCode": ...} with the HTTP status.
class PanelApi {
 public:
  PanelApi(http::Client& client, PanelOptions options) : client_(client), options_(std::move(options)) {}

  awaitable<std::optional<PanelUser>> find_by_username(const std::string& username);
  awaitable<PanelUser> create_user(const DesiredUser& user);
  awaitable<PanelUser> update_user(const std::string& ref, const DesiredUser& user);
  // A new subscription link (new short uuid and credentials): the old link stops working.
  awaitable<PanelUser> revoke_subscription(const std::string& ref);
  awaitable<PanelUser> reset_traffic(const std::string& ref);
  // True when the panel deleted it, false when it did not exist (404): both leave the panel without the user.
  awaitable<bool> delete_user(const std::string& ref);
  struct Page {
    std::vector<PanelUser> users;
    int64_t total = 0;
  };
  awaitable<Page> list_users(int64_t start, int size);

 private:
  // Sends one call; returns the parsed body of a 2xx answer, or nullopt for a 404 when `missing_ok`.
  awaitable<std::optional<nlohmann::json>> call(std::string method, std::string path,
                                                std::optional<nlohmann::json> body, bool missing_ok);
  awaitable<PanelUser> user_call(std::string method, std::string path, std::optional<nlohmann::json> body);
  http::Client& client_;
  PanelOptions options_;
};

}  // namespace vpnbot::remnawave
