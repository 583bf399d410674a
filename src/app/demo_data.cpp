#include "app/demo_data.hpp"

#include "billing/groups.hpp"
#include "billing/promo.hpp"
#include "billing/traffic_packages.hpp"
#include "vpn/store.hpp"

namespace vpnbot::app {

awaitable<void> seed_demo_data(db::Pool& pool, const vpn::SecretBox& box,
                               std::optional<remnawave::PanelNodeSpec> panel) {
  if (panel) {
    co_await pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      if (co_await remnawave::Accounts::node_by_name(tx, panel->name)) co_return;
      co_await remnawave::Accounts::add_node(tx, box, *panel);
      co_await tx.exec(
          "INSERT INTO plans (code, title, days, price_rub, price_stars, device_limit, sort, traffic_gb, "
          "panel_devices, "
          "backend) VALUES ('xray-month', '{\"en\": \"Xray VLESS Reality, 30 days\", \"ru\": \"Xray VLESS Reality, 30 "
          "дней\"}', 30, 24900, 120, 3, 15, 100, 3, 'remnawave') ON CONFLICT (code) DO NOTHING");
    });
  }
  vpn::VpnStore store(pool, box);
  std::string node_name = "sandbox-nl";
  auto existing = co_await store.node_by_name(node_name);
  if (!existing) {
    vpn::NodeSpec spec;
    spec.name = node_name;
    spec.country_code = "NL";
    spec.location = "Amsterdam (sandbox)";
    spec.endpoint_host = "10.200.0.1";
    spec.endpoint_port = 51820;
    spec.interface = "wgsandbox0";
    spec.subnet_v4 = "10.66.0.0/24";
    co_await store.add_node(spec);
  }
  co_await pool.transaction([](db::Transaction& tx) -> awaitable<void> {
    auto r = co_await tx.exec("SELECT count(*) FROM promo_codes");
    if (r.get<int64_t>(0, 0) > 0) co_return;
    auto promo = [](std::string code, std::string kind, int64_t value, std::optional<int> max_uses) {
      billing::NewPromo p;
      p.code = std::move(code);
      p.kind = std::move(kind);
      p.value = value;
      p.max_uses = max_uses;
      return p;
    };
    std::vector<billing::NewPromo> codes{promo("WELCOME20", "percent", 20, 1000),
                                         promo("GIFT100", "balance", 10000, 100),
                                         promo("WEEK", "days", 7, std::nullopt)};
    for (const auto& p : codes) co_await billing::Promos::create(tx, p);
    // A personal discount: FRIENDS puts the user in a 15 % promo group (shown at checkout beside any other code).
    auto friends = co_await billing::PromoGroups::create(tx, "friends", 15);
    auto join = promo("FRIENDS", "group", 0, 1000);
    join.group_id = friends.id;
    co_await billing::Promos::create(tx, join);
  });
  // A WireGuard plan with a traffic allowance, and traffic packages to top it up.
  co_await pool.transaction([](db::Transaction& tx) -> awaitable<void> {
    auto r = co_await tx.exec("SELECT count(*) FROM traffic_packages");
    if (r.get<int64_t>(0, 0) > 0) co_return;
    co_await tx.exec(
        "INSERT INTO plans (code, title, days, price_rub, price_stars, device_limit, sort, traffic_gb) VALUES "
        "('lite', '{\"en\": \"Lite: 30 days, 50 GB\", \"ru\": \"Лайт: 30 дней, 50 ГБ\"}', 30, 9900, 50, 2, 5, 50) "
        "ON CONFLICT (code) DO NOTHING");
    co_await billing::TrafficPackages::create(tx, 10, 4900, 25, 10);
    co_await billing::TrafficPackages::create(tx, 50, 14900, 75, 20);
  });
}

}  // namespace vpnbot::app
