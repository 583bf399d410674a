#include "vpn/remnawave/jobs.hpp"

#include "core/log.hpp"
#include "vpn/remnawave/accounts.hpp"

namespace vpnbot::remnawave {

namespace {

constexpr int kUsagePage = 500;

// The panel lost the user we knew (an admin deleted it there): found again by username, or created anew.
awaitable<PanelUser> create_or_adopt(PanelApi& api, const DesiredUser& desired) {
  auto found = co_await api.find_by_username(desired.username);
  if (found) co_return co_await api.update_user(found->ref, desired);
  co_return co_await api.create_user(desired);
}

// One pass of the whole desired state. Every call is safe to repeat: a crash anywhere leaves the account behind
// (revision > applied), and the next sync looks the user up by username before creating it.
awaitable<Accounts::Applied> apply(PanelApi& api, const SyncTarget& t) {
  Accounts::Applied applied;
  if (t.state == "removed") {
    std::optional<std::string> ref = t.panel_ref;
    if (!ref) {
      auto found = co_await api.find_by_username(t.desired.username);
      if (found) ref = found->ref;
    }
    if (ref) co_await api.delete_user(*ref);
    co_return applied;  // user nullopt: gone from the panel
  }
  std::optional<PanelUser> user;
  if (t.panel_ref) {
    bool lost = false;
    try {
      user = co_await api.update_user(*t.panel_ref, t.desired);
    } catch (const PanelError& e) {
      // Only "user not found" means the user is gone; another 404 (a deleted squad, A118) is a refusal.
      if (e.status() != 404 || !(e.code().empty() || e.code() == "A025")) throw;
      lost = true;
    }
    if (lost) log::warn("remnawave", "panel user vanished, recreating", {{"account_id", t.id}});
  }
  if (!user) user = co_await create_or_adopt(api, t.desired);
  if (t.revoke_generation > t.applied_revoke) {
    user = co_await api.revoke_subscription(user->ref);
    applied.revoked = true;
  }
  if (t.traffic_period > t.applied_traffic_period) {
    user = co_await api.reset_traffic(user->ref);
    applied.traffic_reset = true;
  }
  applied.user = user;
  co_return applied;
}

int64_t account_of(const jobs::ClaimedJob& job) {
  const auto& p = job.payload;
  if (!p.contains("account_id") || !p["account_id"].is_number_integer())
    throw jobs::PermanentJobError("remnawave.sync needs account_id");
  return p["account_id"].get<int64_t>();
}

}  // namespace

void register_job_handlers(jobs::Worker& worker, PanelJobDeps deps) {
  worker.on("remnawave.sync", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t account_id = account_of(ctx.job);
    // A later sync already carried this revision (or the account is gone): nothing to do.
    int64_t wanted = ctx.job.payload.value("revision", int64_t{0});
    auto done =
        co_await ctx.pool.exec("SELECT applied_revision >= $2 FROM panel_accounts WHERE id = $1", account_id, wanted);
    if (done.empty() || done.get<bool>(0, 0)) co_return;
    std::string owner = deps.owner + "/" + std::to_string(ctx.job.id) + "/" + std::to_string(ctx.job.attempt);
    // Three calls' deadlines: a sync that outlives its lease is fenced out when it records its result.
    Millis lease = deps.timeout * 3;
    auto target = co_await Accounts::claim(ctx.pool, *deps.box, account_id, owner, lease);
    if (!target) throw std::runtime_error("panel account " + std::to_string(account_id) + " is being synced");
    auto options = target->panel;
    options.timeout = deps.timeout;
    PanelApi api(*deps.client, options);
    Accounts::Applied applied;
    std::optional<PanelError> failure;
    try {
      applied = co_await apply(api, *target);
    } catch (const PanelError& e) {
      failure = e;
    }
    if (failure) {
      // A 4xx is the panel refusing this request: recorded for an admin, not retried until the account changes.
      std::optional<std::string> refusal;
      if (!failure->retryable()) refusal = std::string(failure->what());
      co_await Accounts::release(ctx.pool, account_id, owner, refusal);  // the worker logs the failure
      if (refusal) throw jobs::PermanentJobError(*refusal);
      throw std::runtime_error(failure->what());
    }
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      bool send = co_await Accounts::finish(tx, *target, applied, owner);
      if (send && deps.deliver) co_await deps.deliver(tx, target->user_id, account_id);
      co_await ctx.complete_in(tx);
    });
    log::info("remnawave", "panel account synced",
              {{"account_id", account_id},
               {"revision", target->revision},
               {"state", target->state},
               {"revoked", applied.revoked},
               {"traffic_reset", applied.traffic_reset}});
  });

  worker.on("remnawave.sweep", [](jobs::JobContext& ctx) -> awaitable<void> {
    auto behind = co_await Accounts::behind(ctx.pool, 1000);
    jobs::Queue queue(ctx.pool);
    int64_t asked = 0;
    for (auto [id, revision] : behind) {
      auto job = sync_job(id, revision);
      if (co_await queue.enqueue(job)) ++asked;
    }
    if (asked > 0) log::info("remnawave", "syncs asked for accounts the panel is behind on", {{"count", asked}});
  });

  worker.on("remnawave.usage", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    auto nodes = co_await Accounts::node_access(ctx.pool, *deps.box);
    int64_t read = 0, told = 0;
    for (auto& node : nodes) {
      auto options = node.panel;
      options.timeout = deps.timeout;
      PanelApi api(*deps.client, options);
      for (int64_t start = 0;;) {
        // The database's clock, so it compares with the resets the syncs record.
        auto clock = co_await ctx.pool.exec("SELECT clock_timestamp()::text");
        std::string read_at = clock.get<std::string>(0, 0);
        auto page = co_await api.list_users(start, kUsagePage);
        read += static_cast<int64_t>(page.users.size());
        co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
          auto reached = co_await Accounts::record_usage(tx, node.id, page.users, read_at);
          for (int64_t user : reached)
            if (deps.used_up) co_await deps.used_up(tx, user);
          told += static_cast<int64_t>(reached.size());
        });
        start += static_cast<int64_t>(page.users.size());
        if (page.users.empty() || start >= page.total) break;
      }
    }
    if (told > 0)
      log::info("remnawave", "panel usage read", {{"users", read}, {"limit_notices", told}, {"nodes", nodes.size()}});
  });
}

std::vector<jobs::PeriodicTask> periodic_tasks(Millis usage_interval) {
  return {{"remnawave.sweep", Millis(5000), [] { return jobs::NewJob{.kind = "remnawave.sweep"}; }},
          {"remnawave.usage", usage_interval, [] { return jobs::NewJob{.kind = "remnawave.usage"}; }}};
}

awaitable<void> enqueue_sync(db::Transaction& tx, int64_t account_id) {
  auto r = co_await tx.exec("SELECT revision FROM panel_accounts WHERE id = $1", account_id);
  if (r.empty()) co_return;
  auto job = sync_job(account_id, r.get<int64_t>(0, 0));
  co_await jobs::Queue::enqueue(tx, job);
}

awaitable<int64_t> provision_on(db::Transaction& tx, int64_t user_id, int64_t node_id,
                                std::optional<int64_t> subscription_id, const std::string& key) {
  int64_t account = co_await Accounts::provision(tx, user_id, node_id, subscription_id, key, true);
  co_await enqueue_sync(tx, account);
  co_return account;
}

awaitable<std::optional<int64_t>> provision_first(db::Transaction& tx, int64_t user_id,
                                                  std::optional<int64_t> subscription_id, const std::string& key) {
  auto r = co_await tx.exec(
      "SELECT n.id FROM panel_nodes n WHERE n.state = 'enabled' AND (SELECT count(*) FROM panel_accounts a "
      "WHERE a.node_id = n.id AND a.state <> 'removed') < n.capacity ORDER BY (SELECT count(*)::float8 / n.capacity "
      "FROM panel_accounts a WHERE a.node_id = n.id AND a.state <> 'removed'), n.id LIMIT 1");
  if (r.empty()) co_return std::nullopt;
  std::optional<int64_t> account;
  try {
    account = co_await provision_on(tx, user_id, r.get<int64_t>(0, 0), subscription_id, key);
  } catch (const std::invalid_argument& e) {  // filled up meanwhile: the caller falls back, the payment stands
    log::warn("remnawave", "no room for a first Xray account", {{"user_id", user_id}, {"error", e.what()}});
  }
  co_return account;
}

}  // namespace vpnbot::remnawave
