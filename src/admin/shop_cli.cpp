#include "admin/shop_cli.hpp"

#include <fmt/format.h>

#include <iostream>
#include <optional>
#include <string>

#include "admin/run_db.hpp"
#include "billing/gifts.hpp"
#include "billing/groups.hpp"
#include "billing/money.hpp"
#include "billing/traffic_packages.hpp"
#include "jobs/queue.hpp"
#include "ops/operations.hpp"
#include "support/tickets.hpp"

namespace vpnbot::admin {
namespace {

using nlohmann::json;

struct GroupArgs {
  std::string name;
  int percent = 0;
  int64_t user = 0;
  bool none = false;
};

struct TicketArgs {
  std::string state = "open";
  int64_t id = 0;
  int limit = 50;
};

struct GiftArgs {
  std::string state;
  int64_t buyer = 0;
  int limit = 50;
};

struct TrafficArgs {
  int gb = 0;
  std::string price_rub;
  int64_t price_stars = 0;
  int sort = 0;
  int64_t id = 0;
  bool all = false;
};

void print_traffic_packages(const std::vector<billing::TrafficPackage>& packages, bool as_json) {
  json out = json::array();
  for (const auto& p : packages)
    out.push_back({{"id", p.id},
                   {"gb", p.gb},
                   {"price_rub", billing::rub_decimal(p.price_rub)},
                   {"price_stars", p.price_stars},
                   {"active", p.active},
                   {"sort", p.sort}});
  if (as_json) {
    std::cout << out.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{:<6} {:>7} {:>10} {:>6} {:<7} {:>5}\n", "ID", "GB", "RUB", "STARS", "ACTIVE", "SORT");
  for (const auto& p : packages)
    std::cout << fmt::format("{:<6} {:>7} {:>10} {:>6} {:<7} {:>5}\n", p.id, p.gb, billing::rub_decimal(p.price_rub),
                             p.price_stars, p.active ? "yes" : "no", p.sort);
}

void print_groups(const std::vector<billing::PromoGroup>& groups, bool as_json) {
  json out = json::array();
  for (const auto& g : groups)
    out.push_back({{"id", g.id}, {"name", g.name}, {"plan_percent", g.plan_percent}, {"members", g.members}});
  if (as_json) {
    std::cout << out.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{:<6} {:<32} {:>8} {:>8}\n", "ID", "NAME", "PERCENT", "MEMBERS");
  for (const auto& g : groups)
    std::cout << fmt::format("{:<6} {:<32} {:>7}% {:>8}\n", g.id, g.name, g.plan_percent, g.members);
}

}  // namespace

Runner add_shop_commands(CLI::App& admin, std::shared_ptr<bool> json_out, std::shared_ptr<int64_t> actor_id) {
  auto* group = admin.add_subcommand("group", "Promo groups: a personal discount on plans for their members");
  group->require_subcommand(1);
  auto ga = std::make_shared<GroupArgs>();
  auto* group_add = group->add_subcommand("add", "Create a promo group");
  group_add->add_option("name", ga->name, "1-32 of a-z, 0-9, _ and -")->required();
  group_add->add_option("--percent", ga->percent, "Discount on every plan, renewals included (1-90)")
      ->required()
      ->check(CLI::Range(1, 90));
  auto* group_list = group->add_subcommand("list", "Promo groups with their member counts");
  auto* group_assign = group->add_subcommand("assign", "Put a user in a promo group (or, with --none, out of any)");
  group_assign->add_option("user", ga->user, "Telegram user id")->required();
  auto* group_name = group_assign->add_option("--group", ga->name, "The group's name");
  auto* group_none = group_assign->add_flag("--none", ga->none, "Out of any group: full prices again");
  group_name->excludes(group_none);

  auto* gift = admin.add_subcommand("gift", "Gift subscriptions bought for someone else");
  gift->require_subcommand(1);
  auto gi = std::make_shared<GiftArgs>();
  auto* gift_list = gift->add_subcommand("list", "Gifts, newest first");
  gift_list->add_option("--state", gi->state, "Only this state")->check(CLI::IsMember({"open", "redeemed", "revoked"}));
  gift_list->add_option("--buyer", gi->buyer, "Only gifts this Telegram user bought");
  gift_list->add_option("--limit", gi->limit, "How many")->check(CLI::Range(1, 1000));

  auto* ticket = admin.add_subcommand("ticket", "Support tickets (answered in the support group's topics)");
  ticket->require_subcommand(1);
  auto ta = std::make_shared<TicketArgs>();
  auto* ticket_list = ticket->add_subcommand("list", "Tickets, newest first, with how long the user has waited");
  ticket_list->add_option("--state", ta->state, "open, closed or all")->check(CLI::IsMember({"open", "closed", "all"}));
  ticket_list->add_option("--limit", ta->limit, "How many")->check(CLI::Range(1, 1000));
  auto* ticket_close = ticket->add_subcommand("close", "Close a ticket: its topic is closed and the user told");
  ticket_close->add_option("id", ta->id, "Ticket number")->required()->check(CLI::PositiveNumber);

  auto* traffic = admin.add_subcommand("traffic", "Traffic packages: gigabytes sold on top of a plan's allowance");
  traffic->require_subcommand(1);
  auto tr = std::make_shared<TrafficArgs>();
  auto* traffic_add = traffic->add_subcommand("add", "Put a traffic package on sale");
  traffic_add->add_option("--gb", tr->gb, "Gigabytes added to the buyer's current period")
      ->required()
      ->check(CLI::Range(1, 100000));
  traffic_add->add_option("--price-rub", tr->price_rub, "Price in rubles, e.g. 99 or 99.50")->required();
  traffic_add->add_option("--price-stars", tr->price_stars, "Price in Telegram Stars")
      ->required()
      ->check(CLI::PositiveNumber);
  traffic_add->add_option("--sort", tr->sort, "Order in the list (smaller first)");
  auto* traffic_list = traffic->add_subcommand("list", "Traffic packages on sale");
  traffic_list->add_flag("--all", tr->all, "Packages taken off sale too");
  auto* traffic_disable = traffic->add_subcommand("disable", "Take a package off sale (paid orders are kept)");
  traffic_disable->add_option("id", tr->id, "Package id")->required()->check(CLI::PositiveNumber);
  auto* traffic_enable = traffic->add_subcommand("enable", "Put a package back on sale");
  traffic_enable->add_option("id", tr->id, "Package id")->required()->check(CLI::PositiveNumber);

  return [=](const Config& config) -> std::optional<int> {
    bool as_json = *json_out;
    ops::Actor actor{*actor_id, "cli"};
    if (*traffic_add) {
      int64_t price_rub = 0;
      try {
        price_rub = billing::parse_rub(tr->price_rub);
      } catch (const std::invalid_argument& e) {
        throw CLI::ValidationError("--price-rub", e.what());
      }
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto created = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<billing::TrafficPackage> {
          auto package = co_await billing::TrafficPackages::create(tx, tr->gb, price_rub, tr->price_stars, tr->sort);
          std::string action = "add_traffic_package";
          json details{{"id", package.id}, {"gb", package.gb}, {"price_rub", package.price_rub}};
          co_await ops::Audit::record(tx, actor, action, std::nullopt, details);
          co_return package;
        });
        print_traffic_packages({created}, as_json);
        co_return 0;
      });
    }
    if (*traffic_list)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto packages =
            co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::vector<billing::TrafficPackage>> {
              co_return co_await billing::TrafficPackages::list(tx, !tr->all);
            });
        print_traffic_packages(packages, as_json);
        co_return 0;
      });
    if (*traffic_disable || *traffic_enable) {
      bool active = traffic_enable->parsed();
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        bool found = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<bool> {
          co_return co_await ops::Operations::set_traffic_package_active(tx, actor, tr->id, active);
        });
        if (!found) throw std::invalid_argument("no traffic package " + std::to_string(tr->id));
        std::cout << (as_json ? json{{"id", tr->id}, {"active", active}}.dump()
                              : "traffic package " + std::to_string(tr->id) + (active ? " is on sale" : " is off sale"))
                  << "\n";
        co_return 0;
      });
    }
    if (*ticket_list)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto tickets = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::vector<support::Ticket>> {
          std::string state = ta->state == "all" ? "" : ta->state;  // named: the g++ 12 note in core/asio.hpp
          co_return co_await support::Tickets::list(tx, state, ta->limit);
        });
        json out = json::array();
        for (const auto& t : tickets)
          out.push_back({{"id", t.id},
                         {"user_id", t.user_id},
                         {"state", t.state},
                         {"topic_id", t.topic_id ? json(*t.topic_id) : json()},
                         {"created_at", t.created_at},
                         {"waiting_minutes", t.waiting_minutes ? json(*t.waiting_minutes) : json()},
                         {"messages", t.messages},
                         {"closed_by", t.closed_by ? json(*t.closed_by) : json()}});
        if (as_json) {
          std::cout << out.dump() << "\n";
        } else {
          std::cout << fmt::format("{:<6} {:<14} {:<7} {:<17} {:>8} {:>9}\n", "ID", "USER", "STATE", "OPENED (UTC)",
                                   "MESSAGES", "WAITING");
          for (const auto& t : tickets)
            std::cout << fmt::format("{:<6} {:<14} {:<7} {:<17} {:>8} {:>9}\n", t.id, t.user_id, t.state, t.created_at,
                                     t.messages, t.waiting_minutes ? std::to_string(*t.waiting_minutes) + " min" : "-");
        }
        co_return 0;
      });
    if (*ticket_close) {
      if (config.support.chat_id == 0)
        throw CLI::ValidationError("ticket close", "support_chat_id is not set: there are no support tickets");
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        // The worker closes it (the topic and the user's notice are the bot's); the request is audited here.
        bool queued = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<bool> {
          auto found = co_await support::Tickets::get(tx, ta->id);
          if (!found) throw std::invalid_argument("no ticket " + std::to_string(ta->id));
          if (found->state != "open") co_return false;
          jobs::NewJob close;
          close.kind = "support.close";
          close.payload = {{"ticket_id", ta->id}};
          co_await jobs::Queue::enqueue(tx, close);
          std::string action = "close_ticket";
          json details{{"ticket_id", ta->id}};
          co_await ops::Audit::record(tx, actor, action, found->user_id, details);
          co_return true;
        });
        std::cout << (as_json ? json{{"ticket_id", ta->id}, {"closing", queued}}.dump()
                              : "ticket " + std::to_string(ta->id) + (queued ? " is being closed" : " is not open"))
                  << "\n";
        co_return queued ? 0 : 1;
      });
    }
    if (*group_add)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto created = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<billing::PromoGroup> {
          co_return co_await ops::Operations::create_group(tx, actor, ga->name, ga->percent);
        });
        print_groups({created}, as_json);
        co_return 0;
      });
    if (*group_list)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto groups = co_await pool.transaction([](db::Transaction& tx) -> awaitable<std::vector<billing::PromoGroup>> {
          co_return co_await billing::PromoGroups::list(tx);
        });
        print_groups(groups, as_json);
        co_return 0;
      });
    if (*group_assign) {
      if (ga->name.empty() && !ga->none) throw CLI::ValidationError("--group", "give --group NAME or --none");
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        std::optional<std::string> name;
        if (!ga->none) name = ga->name;
        bool changed = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<bool> {
          co_return co_await ops::Operations::assign_group(tx, actor, ga->user, name);
        });
        std::string where = name ? "in group " + *name : "in no group";
        std::cout
            << (as_json
                    ? json{{"user_id", ga->user}, {"group", name ? json(*name) : json()}, {"changed", changed}}.dump()
                    : "user " + std::to_string(ga->user) + " is " + where + (changed ? "" : " (already was)"))
            << "\n";
        co_return 0;
      });
    }
    if (*gift_list)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto gifts = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::vector<billing::Gift>> {
          std::optional<int64_t> buyer;
          if (gi->buyer) buyer = gi->buyer;
          std::optional<std::string> state;
          if (!gi->state.empty()) state = gi->state;
          co_return co_await billing::Gifts::list(tx, buyer, state, INT64_MAX, gi->limit);
        });
        json out = json::array();
        for (const auto& g : gifts)
          out.push_back({{"id", g.id},
                         {"code", g.code},
                         {"order_id", g.order_id},
                         {"buyer_id", g.buyer_id},
                         {"days", g.days},
                         {"state", g.state},
                         {"redeemed_by", g.redeemed_by ? json(*g.redeemed_by) : json()},
                         {"redeemed_at", g.redeemed_at ? json(*g.redeemed_at) : json()},
                         {"created_at", g.created_at}});
        if (as_json) {
          std::cout << out.dump() << "\n";
        } else {
          std::cout << fmt::format("{:<6} {:<12} {:<8} {:<14} {:>5} {:<9} {:<14} {}\n", "ID", "CODE", "ORDER", "BUYER",
                                   "DAYS", "STATE", "REDEEMED BY", "CREATED (UTC)");
          for (const auto& g : gifts)
            std::cout << fmt::format("{:<6} {:<12} {:<8} {:<14} {:>5} {:<9} {:<14} {}\n", g.id, g.code, g.order_id,
                                     g.buyer_id, g.days, g.state, g.redeemed_by ? std::to_string(*g.redeemed_by) : "-",
                                     g.created_at);
        }
        co_return 0;
      });
    return std::nullopt;
  };
}

}  // namespace vpnbot::admin
