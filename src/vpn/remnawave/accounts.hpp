#pragma once
#include <optional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "db/pool.hpp"
#include "jobs/queue.hpp"
#include "vpn/keys.hpp"
#include "vpn/remnawave/api.hpp"

namespace vpnbot::remnawave {

struct PanelNodeSpec {
  std::string name;
  std::string country_code;
  std::string location;
  std::string protocol = "VLESS Reality";
  std::string panel_url;
  std::string token;  // sealed before it is stored; never read back out but by a sync
  std::vector<std::string> squads;
  int capacity = 5000;
  int api_version = 2;  // the panel's API generation: 2 (2.x) or 3 (3.x)
};

struct PanelNode {
  int64_t id = 0;
  std::string name, country_code, location, protocol, panel_url, state;
  std::vector<std::string> squads;
  int capacity = 0;
  int api_version = 2;
  int64_t accounts = 0;  // live accounts
};

// One account as "My configs" and the admin user card show it.
struct UserAccount {
  int64_t id = 0;
  std::string country_code, location, protocol, node_name, state;
  std::optional<std::string> subscription_url;  // none until the panel created the user
  int64_t used_bytes = 0, limit_bytes = 0;
  std::optional<std::string> panel_status, last_error;
  bool in_sync = false;                      // the panel has the latest desired state
  std::optional<std::string> usage_read_at;  // when usage was last read from the panel (UTC)
  std::optional<std::string> provision_key;  // what made it ("order:<id>" for a purchase)
};

// Bytes as gigabytes for people: one decimal under 10 GB, none above ("1.5", "50").
std::string gigabytes(int64_t bytes);

// What one sync needs: the account's desired state and how to reach its panel.
struct SyncTarget {
  int64_t id = 0, user_id = 0, revision = 0;
  int revoke_generation = 0, applied_revoke = 0, traffic_period = 0, applied_traffic_period = 0;
  std::string state;
  bool deliver = false;
  std::optional<std::string> panel_ref, subscription_url;  // panel_ref: PanelUser::ref
  DesiredUser desired;
  PanelOptions panel;
};

// The remnawave backend's tables: panel nodes (locations) and panel accounts (desired state, reconciled by the
// worker). Every change of desired state bumps the account's revision inside the caller's transaction.
class Accounts {
 public:
  static awaitable<PanelNode> add_node(db::Transaction& tx, const vpn::SecretBox& box, const PanelNodeSpec& spec);
  static awaitable<std::vector<PanelNode>> list_nodes(db::Transaction& tx);
  static awaitable<std::optional<PanelNode>> node_by_name(db::Transaction& tx, const std::string& name);

  // Creates the user's account on an enabled panel node, idempotent by `key`; one live account per user and node
  // (asking again returns the existing one). Throws std::invalid_argument when the node cannot take it.
  static awaitable<int64_t> provision(db::Transaction& tx, int64_t user_id, int64_t node_id,
                                      std::optional<int64_t> subscription_id, const std::string& key, bool deliver);
  // active <-> disabled (expiry, ban, refund, renewal), as for WireGuard peers. Returns accounts changed.
  static awaitable<int64_t> set_user_state(db::Transaction& tx, int64_t user_id, const std::string& from,
                                           const std::string& to);
  // A period was paid: the traffic counter starts again (and one "limit reached" notice may come again).
  static awaitable<void> period_paid(db::Transaction& tx, int64_t user_id);
  // Enqueues a sync of each of the user's accounts the panel is behind on (the sweep catches any other change).
  static awaitable<void> ask_sync(db::Transaction& tx, int64_t user_id);
  // A new link for the user's account (the old one stops working); false if it is not theirs or not live.
  static awaitable<bool> revoke(db::Transaction& tx, int64_t account_id, int64_t user_id);
  // The account leaves the panel; false if it is not theirs or already removed.
  static awaitable<bool> remove(db::Transaction& tx, int64_t account_id, std::optional<int64_t> user_id);
  // An admin fixed what the panel refused: the desired state of the node's refused accounts (or of one account of
  // the node) is sent again. Returns the accounts asked for.
  static awaitable<int64_t> resync(db::Transaction& tx, int64_t node_id, std::optional<int64_t> account_id);
  static awaitable<std::vector<UserAccount>> user_accounts(db::Transaction& tx, int64_t user_id);
  static awaitable<std::optional<UserAccount>> user_account(db::Transaction& tx, int64_t account_id, int64_t user_id);
  static awaitable<int64_t> live_count(db::Transaction& tx, int64_t user_id);

  // Sync side. claim takes the account's fenced lease (another sync of it holding one: nullopt) and reads the
  // desired state; finish records what the panel now holds, as far as the claimed revision, and drops the lease.
  static awaitable<std::optional<SyncTarget>> claim(db::Pool& pool, const vpn::SecretBox& box, int64_t account_id,
                                                    const std::string& owner, Millis lease);
  struct Applied {
    std::optional<PanelUser> user;  // nullopt: deleted from the panel
    bool revoked = false, traffic_reset = false;
  };
  // Returns true when the account now has a link it has not been sent yet and asked for delivery.
  static awaitable<bool> finish(db::Transaction& tx, const SyncTarget& target, const Applied& applied,
                                const std::string& owner);
  // Drops the lease after a failed sync, with the panel's message when it refused the request.
  static awaitable<void> release(db::Pool& pool, int64_t account_id, const std::string& owner,
                                 std::optional<std::string> refusal);
  // Accounts whose panel state is behind (id, revision), oldest first.
  static awaitable<std::vector<std::pair<int64_t, int64_t>>> behind(db::Pool& pool, int limit);

  // Usage read from the panel for a node's accounts (matched by username), the page asked for at `read_at` (the
  // database's clock_timestamp(), as text). Returns the users who reached their traffic limit and have not been
  // told yet (marked told in the same statement). An account whose counter reset is pending or was applied after
  // `read_at` is skipped: the page holds the previous period's numbers.
  static awaitable<std::vector<int64_t>> record_usage(db::Transaction& tx, int64_t node_id,
                                                      const std::vector<PanelUser>& users, const std::string& read_at);
  struct NodeAccess {
    int64_t id = 0;
    PanelOptions panel;
  };
  static awaitable<std::vector<NodeAccess>> node_access(db::Pool& pool, const vpn::SecretBox& box);
};

// The sync job of one account at one revision.
jobs::NewJob sync_job(int64_t account_id, int64_t revision);

// "tg<telegram id>_<account id>": unique per account, readable for an admin in the panel, within the contract's
// 3-36 characters of [a-zA-Z0-9_-].
std::string panel_username(int64_t user_id, int64_t account_id);

}  // namespace vpnbot::remnawave
