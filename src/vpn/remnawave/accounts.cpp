#include "vpn/remnawave/accounts.hpp"

#include <fmt/format.h>

#include "db/result.hpp"
#include "jobs/queue.hpp"

namespace vpnbot::remnawave {

using nlohmann::json;

std::string panel_username(int64_t user_id, int64_t account_id) {
  return "tg" + std::to_string(user_id) + "_" + std::to_string(account_id);
}

namespace {

constexpr const char* kNodeColumns =
    "n.id, n.name, n.country_code, n.location, n.protocol, n.panel_url, n.state, to_json(n.squads), n.capacity, "
    "(SELECT count(*) FROM panel_accounts a WHERE a.node_id = n.id AND a.state <> 'removed'), n.api_version";

const db::RowMap kNodeRow{kNodeColumns,         &PanelNode::id,       &PanelNode::name,      &PanelNode::country_code,
                          &PanelNode::location, &PanelNode::protocol, &PanelNode::panel_url, &PanelNode::state,
                          &PanelNode::squads,   &PanelNode::capacity, &PanelNode::accounts,  &PanelNode::api_version};

constexpr const char* kAccountColumns =
    "a.id, n.country_code, n.location, n.protocol, n.name, a.state, a.subscription_url, a.used_bytes, a.limit_bytes, "
    "a.panel_status, a.last_error, a.applied_revision >= a.revision, "
    "to_char(a.usage_read_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), a.provision_key";

const db::RowMap kAccountRow{kAccountColumns,
                             &UserAccount::id,
                             &UserAccount::country_code,
                             &UserAccount::location,
                             &UserAccount::protocol,
                             &UserAccount::node_name,
                             &UserAccount::state,
                             &UserAccount::subscription_url,
                             &UserAccount::used_bytes,
                             &UserAccount::limit_bytes,
                             &UserAccount::panel_status,
                             &UserAccount::last_error,
                             &UserAccount::in_sync,
                             &UserAccount::usage_read_at,
                             &UserAccount::provision_key};

// The account a provisioning key made, or the user's live account on the node (one per user and node).
constexpr const char* kExistingAccountSql =
    "SELECT id FROM panel_accounts WHERE provision_key = $1 OR (user_id = $2 AND node_id = $3 AND state <> "
    "'removed') ORDER BY id LIMIT 1";

}  // namespace

awaitable<PanelNode> Accounts::add_node(db::Transaction& tx, const vpn::SecretBox& box, const PanelNodeSpec& spec) {
  if (spec.token.empty()) throw std::invalid_argument("a remnawave node needs the panel's API token");
  api_version_from(spec.api_version);  // 2 or 3, or a clear error
  auto taken = co_await tx.exec("SELECT 1 FROM vpn_nodes WHERE name = $1", spec.name);
  if (!taken.empty()) throw std::invalid_argument("a WireGuard node is already named " + spec.name);
  std::vector<std::string> squads = spec.squads;
  auto r = co_await tx.exec(
      "INSERT INTO panel_nodes (name, country_code, location, protocol, panel_url, token_enc, squads, capacity, "
      "api_version) VALUES ($1, $2, $3, $4, $5, $6, $7::text[]::uuid[], $8, $9) RETURNING id",
      spec.name, spec.country_code, spec.location, spec.protocol, spec.panel_url, box.seal(spec.token),
      db::to_text_array(squads), spec.capacity, spec.api_version);
  int64_t id = r.get<int64_t>(0, 0);
  auto n = co_await tx.exec(std::string("SELECT ") + kNodeColumns + " FROM panel_nodes n WHERE n.id = $1", id);
  co_return kNodeRow.read(n, 0);
}

awaitable<std::vector<PanelNode>> Accounts::list_nodes(db::Transaction& tx) {
  auto r = co_await tx.exec(std::string("SELECT ") + kNodeColumns + " FROM panel_nodes n ORDER BY n.name");
  co_return kNodeRow.read_all(r);
}

awaitable<std::optional<PanelNode>> Accounts::node_by_name(db::Transaction& tx, const std::string& name) {
  auto r = co_await tx.exec(std::string("SELECT ") + kNodeColumns + " FROM panel_nodes n WHERE n.name = $1", name);
  if (r.empty()) co_return std::nullopt;
  co_return kNodeRow.read(r, 0);
}

awaitable<int64_t> Accounts::provision(db::Transaction& tx, int64_t user_id, int64_t node_id,
                                       std::optional<int64_t> subscription_id, const std::string& key, bool deliver) {
  auto existing = co_await tx.exec(kExistingAccountSql, key, user_id, node_id);
  if (!existing.empty()) co_return existing.get<int64_t>(0, 0);
  // The node row is locked so that two purchases at once cannot both take its last place.
  auto node = co_await tx.exec(
      "SELECT n.state, n.capacity, (SELECT count(*) FROM panel_accounts a WHERE a.node_id = n.id AND a.state <> "
      "'removed') FROM panel_nodes n WHERE n.id = $1 FOR UPDATE",
      node_id);
  if (node.empty()) throw std::invalid_argument("no remnawave node " + std::to_string(node_id));
  if (node.get<std::string>(0, 0) != "enabled")
    throw std::invalid_argument("remnawave node " + std::to_string(node_id) + " takes no new accounts");
  if (node.get<int64_t>(0, 2) >= node.get<int64_t>(0, 1))
    throw std::invalid_argument("remnawave node " + std::to_string(node_id) + " is full");
  auto r = co_await tx.exec(
      "WITH next AS (SELECT nextval('panel_accounts_id_seq') AS id) "
      "INSERT INTO panel_accounts (id, user_id, node_id, subscription_id, provision_key, username, deliver) "
      "SELECT next.id, $1::bigint, $2::bigint, $3::bigint, $4, 'tg' || $1::bigint::text || '_' || next.id::text, $5 "
      "FROM next "
      "ON CONFLICT DO NOTHING RETURNING id",
      user_id, node_id, subscription_id, key, deliver);
  if (!r.empty()) co_return r.get<int64_t>(0, 0);
  // A concurrent transaction created it first (same key, or the user's account on this node).
  auto raced = co_await tx.exec(kExistingAccountSql, key, user_id, node_id);
  if (raced.empty()) throw std::runtime_error("panel account for " + key + " neither created nor found");
  co_return raced.get<int64_t>(0, 0);
}

awaitable<int64_t> Accounts::set_user_state(db::Transaction& tx, int64_t user_id, const std::string& from,
                                            const std::string& to) {
  auto r = co_await tx.exec(
      "UPDATE panel_accounts SET state = $3, revision = revision + 1, updated_at = now() "
      "WHERE user_id = $1 AND state = $2",
      user_id, from, to);
  if (r.affected() > 0) co_await ask_sync(tx, user_id);
  co_return r.affected();
}

awaitable<void> Accounts::period_paid(db::Transaction& tx, int64_t user_id) {
  co_await tx.exec(
      "UPDATE panel_accounts SET traffic_period = traffic_period + 1, limit_notified = false, "
      "revision = revision + 1, updated_at = now() WHERE user_id = $1 AND state <> 'removed'",
      user_id);
  co_await ask_sync(tx, user_id);
}

awaitable<void> Accounts::ask_sync(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec(
      "SELECT id, revision FROM panel_accounts WHERE user_id = $1 AND revision > applied_revision", user_id);
  for (int i = 0; i < r.rows(); ++i) {
    int64_t id = r.get<int64_t>(i, 0), revision = r.get<int64_t>(i, 1);
    co_await jobs::Queue::enqueue(tx, sync_job(id, revision));
  }
}

std::string gigabytes(int64_t bytes) {
  double gb = static_cast<double>(bytes) / 1073741824.0;
  return gb < 10 ? fmt::format("{:.1f}", gb) : fmt::format("{:.0f}", gb);
}

jobs::NewJob sync_job(int64_t account_id, int64_t revision) {
  // Retried for as long as the panel needs, at most about half a minute apart, so an outage's backlog is applied
  // within half a minute of the panel coming back (not after an hour's backoff); one job per revision.
  return jobs::NewJob{.kind = "remnawave.sync",
                      .payload = {{"account_id", account_id}, {"revision", revision}},
                      .unique_key = std::to_string(account_id) + ":" + std::to_string(revision),
                      .max_attempts = 100000,
                      .max_backoff = Millis(30000)};
}

awaitable<bool> Accounts::revoke(db::Transaction& tx, int64_t account_id, int64_t user_id) {
  // deliver: the new link goes to the user as soon as the panel made it.
  co_return co_await tx.changed(
      "UPDATE panel_accounts SET revoke_generation = revoke_generation + 1, deliver = true, "
      "revision = revision + 1, updated_at = now() WHERE id = $1 AND user_id = $2 AND state <> 'removed'",
      account_id, user_id);
}

awaitable<bool> Accounts::remove(db::Transaction& tx, int64_t account_id, std::optional<int64_t> user_id) {
  co_return co_await tx.changed(
      "UPDATE panel_accounts SET state = 'removed', removed_at = now(), revision = revision + 1, updated_at = now() "
      "WHERE id = $1 AND ($2::bigint IS NULL OR user_id = $2) AND state <> 'removed'",
      account_id, user_id);
}

awaitable<int64_t> Accounts::resync(db::Transaction& tx, int64_t node_id, std::optional<int64_t> account_id) {
  auto r = co_await tx.exec(
      "UPDATE panel_accounts SET revision = revision + 1, last_error = NULL, updated_at = now() "
      "WHERE node_id = $1 AND CASE WHEN $2::bigint IS NULL THEN last_error IS NOT NULL ELSE id = $2 END "
      "RETURNING id, revision",
      node_id, account_id);
  for (int i = 0; i < r.rows(); ++i)
    co_await jobs::Queue::enqueue(tx, sync_job(r.get<int64_t>(i, 0), r.get<int64_t>(i, 1)));
  co_return r.rows();
}

awaitable<std::vector<UserAccount>> Accounts::user_accounts(db::Transaction& tx, int64_t user_id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kAccountColumns +
                                " FROM panel_accounts a JOIN panel_nodes n ON n.id = a.node_id "
                                "WHERE a.user_id = $1 AND a.state <> 'removed' ORDER BY a.id",
                            user_id);
  co_return kAccountRow.read_all(r);
}

awaitable<std::optional<UserAccount>> Accounts::user_account(db::Transaction& tx, int64_t account_id, int64_t user_id) {
  auto r = co_await tx.exec(std::string("SELECT ") + kAccountColumns +
                                " FROM panel_accounts a JOIN panel_nodes n ON n.id = a.node_id "
                                "WHERE a.id = $1 AND a.user_id = $2 AND a.state <> 'removed'",
                            account_id, user_id);
  if (r.empty()) co_return std::nullopt;
  co_return kAccountRow.read(r, 0);
}

awaitable<int64_t> Accounts::live_count(db::Transaction& tx, int64_t user_id) {
  co_return co_await tx.value<int64_t>("SELECT count(*) FROM panel_accounts WHERE user_id = $1 AND state <> 'removed'",
                                       user_id);
}

awaitable<std::optional<SyncTarget>> Accounts::claim(db::Pool& pool, const vpn::SecretBox& box, int64_t account_id,
                                                     const std::string& owner, Millis lease) {
  auto r = co_await pool.exec(
      "WITH claimed AS ("
      "  UPDATE panel_accounts SET sync_owner = $2, sync_until = now() + make_interval(secs => $3::double precision "
      "/ 1000) WHERE id = $1 AND (sync_until IS NULL OR sync_until < now() OR sync_owner = $2) RETURNING *) "
      "SELECT a.id, a.user_id, a.revision, a.revoke_generation, a.applied_revoke, a.traffic_period, "
      "  a.applied_traffic_period, a.state, a.deliver, a.panel_ref, a.subscription_url, a.username, "
      "  n.panel_url, n.token_enc, to_json(n.squads), n.api_version, "
      "  to_char(COALESCE(s.expires_at, now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
      "  COALESCE(s.expires_at, now()) > now() + interval '1 minute', "
      "  CASE WHEN p.traffic_gb IS NULL THEN 0 "  // unlimited; else the plan's allowance plus this period's top-ups
      "    ELSE p.traffic_gb::bigint * 1073741824 + COALESCE(s.traffic_extra_bytes, 0) END, "
      "  COALESCE(p.panel_devices, s.device_limit, 1) "
      "FROM claimed a JOIN panel_nodes n ON n.id = a.node_id "
      "LEFT JOIN subscriptions s ON s.user_id = a.user_id LEFT JOIN plans p ON p.id = s.plan_id",
      account_id, owner, lease.count());
  if (r.empty()) co_return std::nullopt;
  SyncTarget t;
  std::string sealed_token;
  int api_version = 0;
  r.read(0, t.id, t.user_id, t.revision, t.revoke_generation, t.applied_revoke, t.traffic_period,
         t.applied_traffic_period, t.state, t.deliver, t.panel_ref, t.subscription_url, t.desired.username,
         t.panel.base_url, sealed_token, t.desired.squads, api_version, t.desired.expire_at, t.desired.expire_in_future,
         t.desired.traffic_limit_bytes, t.desired.device_limit);
  t.panel.token = box.open(sealed_token);
  t.panel.version = api_version_from(api_version);
  t.desired.active = t.state == "active";
  t.desired.telegram_id = t.user_id;
  co_return t;
}

awaitable<bool> Accounts::finish(db::Transaction& tx, const SyncTarget& target, const Applied& applied,
                                 const std::string& owner) {
  std::optional<std::string> ref, url, status;
  std::optional<int64_t> used, limit;
  if (applied.user) {
    ref = applied.user->ref;
    url = applied.user->subscription_url;
    status = applied.user->status;
    used = applied.user->used_traffic_bytes;
    limit = applied.user->traffic_limit_bytes;
  }
  // Fenced by the lease: a sync that lost it (it ran past its lease and another took over) records nothing.
  auto r = co_await tx.exec(
      "UPDATE panel_accounts SET applied_revision = GREATEST(applied_revision, $3), "
      "  applied_revoke = GREATEST(applied_revoke, $4), applied_traffic_period = GREATEST(applied_traffic_period, $5), "
      "  panel_ref = CASE WHEN $11 THEN NULL ELSE COALESCE($6, panel_ref) END, "
      "  subscription_url = COALESCE($7, subscription_url), panel_status = COALESCE($8, panel_status), "
      "  used_bytes = COALESCE($9, used_bytes), limit_bytes = COALESCE($10, limit_bytes), last_error = NULL, "
      "  traffic_reset_at = CASE WHEN $12 THEN clock_timestamp() ELSE traffic_reset_at END, "
      "  sync_owner = NULL, sync_until = NULL, updated_at = now() "
      "WHERE id = $1 AND sync_owner = $2 RETURNING deliver AND subscription_url IS NOT NULL AND state <> 'removed'",
      target.id, owner, target.revision, target.revoke_generation, target.traffic_period, ref, url, status, used, limit,
      !applied.user.has_value(), applied.traffic_reset);
  if (r.empty()) throw std::runtime_error("panel account " + std::to_string(target.id) + ": sync lease lost");
  bool send = r.get<bool>(0, 0);
  // The link goes out once per request for it (first creation, revoke): a later sync of the same account only
  // sends again when something asked for delivery again.
  if (send) co_await tx.exec("UPDATE panel_accounts SET deliver = false WHERE id = $1", target.id);
  co_return send;
}

awaitable<void> Accounts::release(db::Pool& pool, int64_t account_id, const std::string& owner,
                                  std::optional<std::string> refusal) {
  co_await pool.exec(
      "UPDATE panel_accounts SET sync_owner = NULL, sync_until = NULL, last_error = COALESCE($3, last_error), "
      "updated_at = now() WHERE id = $1 AND sync_owner = $2",
      account_id, owner, refusal);
}

awaitable<std::vector<std::pair<int64_t, int64_t>>> Accounts::behind(db::Pool& pool, int limit) {
  auto r = co_await pool.exec(
      "SELECT id, revision FROM panel_accounts WHERE revision > applied_revision ORDER BY id LIMIT $1", limit);
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.get<int64_t>(i, 0), r.get<int64_t>(i, 1));
  co_return out;
}

awaitable<std::vector<int64_t>> Accounts::record_usage(db::Transaction& tx, int64_t node_id,
                                                       const std::vector<PanelUser>& users,
                                                       const std::string& read_at) {
  std::vector<std::string> names, statuses;
  std::vector<int64_t> used, limits;
  for (const auto& u : users) {
    names.push_back(u.username);
    statuses.push_back(u.status);
    used.push_back(u.used_traffic_bytes);
    limits.push_back(u.traffic_limit_bytes);
  }
  // One statement for the whole page (not a query per user).
  auto r = co_await tx.exec(
      "WITH page AS (SELECT * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) "
      "  AS p(username, status, used, lim)), "
      "before AS (SELECT a.id, a.limit_notified FROM panel_accounts a JOIN page ON page.username = a.username "
      "  WHERE a.node_id = $1 AND a.state <> 'removed'), "
      "updated AS (UPDATE panel_accounts a SET used_bytes = page.used, limit_bytes = page.lim, "
      "  panel_status = page.status, usage_read_at = now(), "
      "  limit_notified = a.limit_notified OR (page.lim > 0 AND page.used >= page.lim) "
      "  FROM page WHERE a.node_id = $1 AND a.username = page.username AND a.state <> 'removed' "
      "  AND a.traffic_period = a.applied_traffic_period "
      "  AND (a.traffic_reset_at IS NULL OR a.traffic_reset_at < $6::timestamptz) "
      "  RETURNING a.id, a.user_id, (page.lim > 0 AND page.used >= page.lim) AS reached) "
      "SELECT u.user_id FROM updated u JOIN before b ON b.id = u.id WHERE u.reached AND NOT b.limit_notified",
      node_id, db::to_text_array(names), db::to_text_array(statuses), db::to_bigint_array(used),
      db::to_bigint_array(limits), read_at);
  std::vector<int64_t> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.get<int64_t>(i, 0));
  co_return out;
}

awaitable<std::vector<Accounts::NodeAccess>> Accounts::node_access(db::Pool& pool, const vpn::SecretBox& box) {
  auto r = co_await pool.exec(
      "SELECT id, panel_url, token_enc, api_version FROM panel_nodes WHERE state <> 'disabled' ORDER BY id");
  std::vector<NodeAccess> out;
  for (int i = 0; i < r.rows(); ++i) {
    NodeAccess n;
    std::string sealed_token;
    int api_version = 0;
    r.read(i, n.id, n.panel.base_url, sealed_token, api_version);
    n.panel.token = box.open(sealed_token);
    n.panel.version = api_version_from(api_version);
    out.push_back(std::move(n));
  }
  co_return out;
}

}  // namespace vpnbot::remnawave
