#include "vpn/jobs.hpp"

#include "core/log.hpp"
#include "vpn/store.hpp"

namespace vpnbot::vpn {

void register_job_handlers(jobs::Worker& worker, const SecretBox& box, Millis address_grace,
                           AfterProvision after_provision, TrafficUsedUp used_up) {
  worker.on("vpn.provision", [&box, after_provision](jobs::JobContext& ctx) -> awaitable<void> {
    const auto& p = ctx.job.payload;
    if (!p.contains("user_id") || !p["user_id"].is_number_integer() || !p.contains("provision_key") ||
        !p["provision_key"].is_string())
      throw jobs::PermanentJobError("vpn.provision needs user_id and provision_key");
    int64_t user_id = p["user_id"];
    std::string key = p["provision_key"];
    int limit = p.value("device_limit", 1);
    std::optional<int64_t> node_id;
    if (p.contains("node_id") && p["node_id"].is_number_integer()) node_id = p["node_id"].get<int64_t>();
    std::optional<int64_t> subscription_id;
    if (p.contains("subscription_id") && p["subscription_id"].is_number_integer())
      subscription_id = p["subscription_id"].get<int64_t>();
    bool deliver = p.value("deliver", false);
    std::string refused;
    try {
      co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
        // A node in the job was picked by the user ("new config" on a location): checked as the user's choice.
        auto peer = co_await VpnStore::provision(tx, box, user_id, node_id, subscription_id, key, limit, true);
        if (deliver && after_provision) co_await after_provision(tx, user_id, peer.id, key);
        co_await ctx.complete_in(tx);  // the config and "done" commit together: exactly one config per key
      });
    } catch (const DeviceLimitReached& e) {
      refused = e.what();
    } catch (const NoCapacity& e) {
      if (!node_id) throw;  // no node has room now: retried, one may be added or freed
      refused = e.what();   // the named node is disabled or full: choosing again is the user's
    }
    if (!refused.empty()) throw jobs::PermanentJobError(refused);
  });
  worker.on("vpn.traffic_used_up", [used_up](jobs::JobContext& ctx) -> awaitable<void> {
    const auto& p = ctx.job.payload;
    if (!p.contains("user_id") || !p["user_id"].is_number_integer())
      throw jobs::PermanentJobError("vpn.traffic_used_up needs user_id");
    int64_t user_id = p["user_id"];
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      if (used_up)
        co_await used_up(tx, user_id);
      else
        log::warn("vpn", "traffic used up, no bot on this worker to tell the user", {{"user_id", user_id}});
      co_await ctx.complete_in(tx);  // the notice and "done" commit together: one notice
    });
  });
  worker.on("vpn.release_addresses", [&box, address_grace](jobs::JobContext& ctx) -> awaitable<void> {
    VpnStore store(ctx.pool, box);
    auto released = co_await store.release_removed_addresses(address_grace);
    if (released > 0) log::info("vpn", "addresses returned to the pools", {{"count", released}});
  });
}

awaitable<void> enqueue_provision(db::Transaction& tx, const ProvisionRequest& request) {
  jobs::NewJob job;
  job.kind = "vpn.provision";
  job.payload = {{"user_id", request.user_id},
                 {"provision_key", request.key},
                 {"device_limit", request.device_limit},
                 {"deliver", request.deliver}};
  if (request.subscription_id) job.payload["subscription_id"] = *request.subscription_id;
  if (request.node_id) job.payload["node_id"] = *request.node_id;
  job.unique_key = request.key;
  co_await jobs::Queue::enqueue(tx, job);
}

std::vector<jobs::PeriodicTask> periodic_tasks() {
  return {{"vpn.release_addresses", Millis(60000), [] { return jobs::NewJob{.kind = "vpn.release_addresses"}; }}};
}

}  // namespace vpnbot::vpn
