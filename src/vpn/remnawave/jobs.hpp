#pragma once
#include <functional>

#include "http/client.hpp"
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"
#include "vpn/keys.hpp"

namespace vpnbot::remnawave {

// Sends the user the account's subscription link (inside the transaction that recorded it).
using DeliverLink = std::function<awaitable<void>(db::Transaction& tx, int64_t user_id, int64_t account_id)>;
// Tells the user their traffic for the period is used up (once per period).
using TrafficUsedUp = std::function<awaitable<void>(db::Transaction& tx, int64_t user_id)>;

struct PanelJobDeps {
  http::Client* client = nullptr;
  const vpn::SecretBox* box = nullptr;
  std::string owner;  // this process; each sync fences its lease with owner + job + attempt
  Millis timeout{10000};
  DeliverLink deliver;
  TrafficUsedUp used_up;
};

// Job kinds of the remnawave backend:
//   remnawave.sync   {account_id}: brings the panel to the account's desired state (create or update, revoke,
//                    traffic reset, delete); idempotent, one per (account, revision)
//   remnawave.sweep  enqueues a sync for every account the panel is behind on (self-healing after any failure)
//   remnawave.usage  reads every panel's users page by page into the accounts' usage; one notice at the limit
void register_job_handlers(jobs::Worker& worker, PanelJobDeps deps);
std::vector<jobs::PeriodicTask> periodic_tasks(Millis usage_interval);

// Asks for a sync of the account at its current revision, inside the caller's transaction.
awaitable<void> enqueue_sync(db::Transaction& tx, int64_t account_id);
// A new account on `node_id` (idempotent by key), synced and its link sent to the user once the panel made it.
// Throws std::invalid_argument when the node takes no new accounts.
awaitable<int64_t> provision_on(db::Transaction& tx, int64_t user_id, int64_t node_id,
                                std::optional<int64_t> subscription_id, const std::string& key);
// The same on the least filled enabled Xray location; nullopt when none has room.
awaitable<std::optional<int64_t>> provision_first(db::Transaction& tx, int64_t user_id,
                                                  std::optional<int64_t> subscription_id, const std::string& key);

}  // namespace vpnbot::remnawave
