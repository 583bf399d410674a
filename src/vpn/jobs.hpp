#pragma once
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"
#include "vpn/keys.hpp"

namespace vpnbot::vpn {

// Job kinds of the VPN domain:
//   vpn.provision          {user_id, provision_key, node_id?, device_limit}: creates one config (idempotent by key)
//   vpn.release_addresses  returns addresses of removed configs to their pools after the grace period
//                          with "deliver": true, after_provision runs in the same transaction (sends the config)
//   vpn.traffic_used_up    {user_id}: tells the user their WireGuard quota is used up (one per period, enqueued
//                          by the agent's reading that switched the configs off)
// `provision_key` is the request's key (e.g. "order:<id>" for a purchase's first config).
using AfterProvision = std::function<awaitable<void>(db::Transaction& tx, int64_t user_id, int64_t peer_id,
                                                     const std::string& provision_key)>;
using TrafficUsedUp = std::function<awaitable<void>(db::Transaction& tx, int64_t user_id)>;
void register_job_handlers(jobs::Worker& worker, const SecretBox& box, Millis address_grace,
                           AfterProvision after_provision = nullptr, TrafficUsedUp used_up = nullptr);
std::vector<jobs::PeriodicTask> periodic_tasks();

// A request for one new config, enqueued inside the caller's transaction; `key` makes it idempotent (the job's
// unique key and the peer's provision_key), `deliver` sends the file and QR code to the user once it exists.
struct ProvisionRequest {
  int64_t user_id = 0;
  std::string key;
  std::optional<int64_t> subscription_id;
  int device_limit = 1;
  std::optional<int64_t> node_id;  // nullopt: the least filled enabled node
  bool deliver = true;
};
awaitable<void> enqueue_provision(db::Transaction& tx, const ProvisionRequest& request);

}  // namespace vpnbot::vpn
