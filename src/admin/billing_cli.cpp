#include "admin/billing_cli.hpp"

#include <fmt/format.h>

#include <iostream>

#include "admin/run_db.hpp"
#include "billing/groups.hpp"
#include "billing/jobs.hpp"
#include "billing/ledger.hpp"
#include "billing/orders.hpp"
#include "billing/promo.hpp"
#include "db/migrations.hpp"
#include "ops/operations.hpp"
#include "ops/stats.hpp"
#include "ops/user_card.hpp"

namespace vpnbot::admin {
namespace {

using nlohmann::json;

struct PlanArgs {
  billing::NewPlan plan;
  std::string title_en, title_ru, price_rub, code, field, value;
};

struct PromoArgs {
  billing::NewPromo promo;
  std::string value, unlock_plan, plans, code, group;
};

struct OrderArgs {
  int64_t id = 0;
  int64_t user = 0;
  std::string state, note = "refund by admin";
  int limit = 50;
};

struct UserArgs {
  int64_t user = 0;
  int days = 0;
  int devices = 1;
  std::string amount, reason, query;
  int64_t admin = 0;
  int64_t after = 0;
  int limit = 50;
};

int64_t rub_arg(const std::string& text, const char* what) {
  try {
    bool negative = !text.empty() && text[0] == '-';
    int64_t v = billing::parse_rub(negative ? text.substr(1) : text);
    return negative ? -v : v;
  } catch (const std::invalid_argument&) {
    throw CLI::ValidationError(what, "'" + text + "' is not an amount in roubles (e.g. 199 or 199.50)");
  }
}

void print_plans(const std::vector<billing::Plan>& plans, bool as_json) {
  json out = json::array();
  for (const auto& p : plans)
    out.push_back({{"id", p.id},
                   {"code", p.code},
                   {"title", p.title},
                   {"days", p.days},
                   {"price_rub", billing::rub_decimal(p.price_rub)},
                   {"price_stars", p.price_stars},
                   {"device_limit", p.device_limit},
                   {"hidden", p.hidden},
                   {"active", p.active},
                   {"sort", p.sort}});
  if (as_json) {
    std::cout << out.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{:<4} {:<12} {:<16} {:>5} {:>10} {:>6} {:>7} {:<8}\n", "ID", "CODE", "TITLE", "DAYS", "RUB",
                           "STARS", "DEVICES", "FLAGS");
  for (const auto& p : plans)
    std::cout << fmt::format("{:<4} {:<12} {:<16} {:>5} {:>10} {:>6} {:>7} {:<8}\n", p.id, p.code, p.title_for("en"),
                             p.days, billing::rub_decimal(p.price_rub), p.price_stars, p.device_limit,
                             std::string(p.active ? "" : "inactive ") + (p.hidden ? "hidden" : ""));
}

void print_promos(const std::vector<billing::PromoCode>& promos, bool as_json) {
  json out = json::array();
  for (const auto& p : promos)
    out.push_back({{"id", p.id},
                   {"code", p.code},
                   {"kind", p.kind},
                   {"value", p.value},
                   {"uses", p.uses},
                   {"max_uses", p.max_uses ? json(*p.max_uses) : json()},
                   {"max_per_user", p.max_per_user},
                   {"valid_until", p.valid_until ? json(*p.valid_until) : json()},
                   {"first_purchase_only", p.first_purchase_only},
                   {"group_id", p.group_id ? json(*p.group_id) : json()},
                   {"active", p.active}});
  if (as_json) {
    std::cout << out.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{:<16} {:<8} {:>10} {:>11} {:<22} {:<6}\n", "CODE", "KIND", "VALUE", "USES", "VALID UNTIL",
                           "ACTIVE");
  for (const auto& p : promos) {
    std::string value = (p.kind == "fixed" || p.kind == "balance") ? billing::rub_decimal(p.value)
                        : p.kind == "percent"                      ? std::to_string(p.value) + "%"
                        : p.kind == "days"                         ? std::to_string(p.value) + "d"
                                                                   : p.kind;
    std::string uses = std::to_string(p.uses) + "/" + (p.max_uses ? std::to_string(*p.max_uses) : "∞");
    std::cout << fmt::format("{:<16} {:<8} {:>10} {:>11} {:<22} {:<6}\n", p.code, p.kind, value, uses,
                             p.valid_until.value_or("-"), p.active ? "yes" : "no");
  }
}

}  // namespace

Runner add_billing_commands(CLI::App& admin, std::shared_ptr<bool> json_out, std::shared_ptr<int64_t> actor_id) {
  auto* plan = admin.add_subcommand("plan", "Plans for sale");
  plan->require_subcommand(1);
  auto pa = std::make_shared<PlanArgs>();
  auto* plan_list = plan->add_subcommand("list", "All plans");
  auto* plan_add = plan->add_subcommand("add", "Add a plan");
  plan_add->add_option("--code", pa->plan.code, "Short code ([a-z0-9_-])")->required();
  plan_add->add_option("--title-en", pa->title_en, "Name in English")->required();
  plan_add->add_option("--title-ru", pa->title_ru, "Name in Russian");
  plan_add->add_option("--days", pa->plan.days, "Duration")->required()->check(CLI::Range(1, 3650));
  plan_add->add_option("--price-rub", pa->price_rub, "Price in roubles, e.g. 199 or 199.50")->required();
  plan_add->add_option("--price-stars", pa->plan.price_stars, "Price in Telegram Stars")
      ->required()
      ->check(CLI::Range(1, 1000000));
  plan_add->add_option("--devices", pa->plan.device_limit, "Configs per subscription")->check(CLI::Range(1, 100));
  plan_add->add_flag("--hidden", pa->plan.hidden, "Only reachable with a promo code that unlocks it");
  plan_add->add_option("--sort", pa->plan.sort, "Position in the list");
  auto* plan_set = plan->add_subcommand("set",
                                        "Change a plan: price_rub, price_stars, days, device_limit, hidden, "
                                        "active, sort, title_en, title_ru, traffic_gb (GB per period or "
                                        "'unlimited'), panel_devices (or 'plan'), backend (wireguard or remnawave)");
  plan_set->add_option("code", pa->code)->required();
  plan_set->add_option("field", pa->field)
      ->required()
      ->check(CLI::IsMember({"price_rub", "price_stars", "days", "device_limit", "hidden", "active", "sort", "title_en",
                             "title_ru", "traffic_gb", "panel_devices", "backend"}));
  plan_set->add_option("value", pa->value)->required();

  auto* promo = admin.add_subcommand("promo", "Promo codes");
  promo->require_subcommand(1);
  auto pr = std::make_shared<PromoArgs>();
  auto* promo_add = promo->add_subcommand("add", "Create a promo code");
  promo_add->add_option("--code", pr->promo.code, "The code (A-Z 0-9 _ -, 3-32)")->required();
  promo_add->add_option("--kind", pr->promo.kind, "percent, fixed, days, balance, plan or group")
      ->required()
      ->check(CLI::IsMember({"percent", "fixed", "days", "balance", "plan", "group"}));
  promo_add->add_option("--value", pr->value, "percent: 1-100; fixed/balance: roubles; days: days");
  promo_add->add_option("--unlock-plan", pr->unlock_plan, "kind plan: the hidden plan's code");
  promo_add->add_option("--group", pr->group, "kind group: the promo group the code puts users in");
  promo_add->add_option("--plans", pr->plans, "Only for these plan codes (comma-separated)");
  promo_add->add_option("--max-uses", pr->promo.max_uses, "Total uses")->check(CLI::Range(1, 100000000));
  promo_add->add_option("--per-user", pr->promo.max_per_user, "Uses per user")->check(CLI::Range(1, 1000));
  promo_add->add_option("--from", pr->promo.valid_from, "Valid from (ISO 8601)");
  promo_add->add_option("--until", pr->promo.valid_until, "Valid until (ISO 8601)");
  promo_add->add_flag("--first-purchase", pr->promo.first_purchase_only, "Only for a user's first purchase");
  auto* promo_list = promo->add_subcommand("list", "All promo codes");
  auto* promo_disable = promo->add_subcommand("disable", "Stop a promo code");
  promo_disable->add_option("code", pr->code)->required();
  auto* promo_enable = promo->add_subcommand("enable", "Re-enable a promo code");
  promo_enable->add_option("code", pr->code)->required();

  auto* order = admin.add_subcommand("order", "Orders and refunds");
  order->require_subcommand(1);
  auto oa = std::make_shared<OrderArgs>();
  auto* order_list = order->add_subcommand("list", "Recent orders (newest first)");
  order_list->add_option("--user", oa->user, "Only this Telegram user");
  order_list->add_option("--state", oa->state, "Only this state")
      ->check(CLI::IsMember({"pending", "paid", "canceled", "expired", "refunded", "mismatch", "credited"}));
  order_list->add_option("--limit", oa->limit, "How many")->check(CLI::Range(1, 1000));
  auto* order_refund = order->add_subcommand(
      "refund",
      "Refund a paid order: Stars via refundStarPayment, balance back to the balance (card and crypto "
      "payments are refunded in the provider's dashboard; its notification reverses the order)");
  order_refund->add_option("id", oa->id)->required();
  order_refund->add_option("--note", oa->note, "Why");

  auto* user = admin.add_subcommand("user", "Users: list, show, grant days, adjust the balance, ban");
  user->require_subcommand(1);
  auto ua = std::make_shared<UserArgs>();
  auto* grant = user->add_subcommand("grant-days", "Extend a user's subscription");
  grant->add_option("user", ua->user, "Telegram user id")->required();
  grant->add_option("days", ua->days)->required()->check(CLI::Range(1, 3650));
  grant->add_option("--devices", ua->devices, "Device limit if a new subscription is created")
      ->check(CLI::Range(1, 100));
  auto* balance = user->add_subcommand("balance", "Add to (or take from, with a minus) a user's balance");
  balance->add_option("user", ua->user, "Telegram user id")->required();
  balance->add_option("amount", ua->amount, "Roubles, e.g. 100 or -50.5")->required();
  balance->add_option("--reason", ua->reason, "Why (recorded in the ledger)")->required();
  balance->add_option("--admin", ua->admin, "Your Telegram id (recorded as the actor)");

  auto* ban = user->add_subcommand("ban", "Ban a user: the bot stops serving them and their configs are switched off");
  ban->add_option("user", ua->user, "Telegram user id")->required();
  ban->add_option("--reason", ua->reason, "Why")->required();
  auto* unban = user->add_subcommand("unban", "Lift a ban: configs come back if the subscription is active");
  unban->add_option("user", ua->user, "Telegram user id")->required();
  auto* user_list = user->add_subcommand("list", "Users by id, a page at a time");
  user_list->add_option("--after", ua->after, "Last id of the previous page");
  user_list->add_option("--limit", ua->limit, "Page size")->check(CLI::Range(1, 10000));
  auto* user_show = user->add_subcommand("show", "A user's card: subscription, configs, orders, balance, referrals");
  user_show->add_option("user", ua->query, "Telegram id or @username")->required();

  auto* stats = admin.add_subcommand("stats", "Users, subscriptions, conversion, revenue (7/30 days), nodes");
  auto* audit = admin.add_subcommand("audit", "The admin audit log, newest first");
  audit->add_option("--user", ua->user, "Only actions on this user");
  audit->add_option("--limit", ua->limit, "How many")->check(CLI::Range(1, 10000));

  return [=](const Config& config) -> std::optional<int> {
    bool as_json = *json_out;
    ops::Actor actor{*actor_id, "cli"};
    if (*stats)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto s = co_await pool.transaction(
            [](db::Transaction& tx) -> awaitable<ops::Stats> { co_return co_await ops::collect_stats(tx); });
        std::cout << (as_json ? s.to_json().dump() : s.render(false)) << "\n";
        co_return 0;
      });
    if (*audit)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto entries = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::vector<ops::AuditEntry>> {
          std::optional<int64_t> target;
          if (ua->user) target = ua->user;
          co_return co_await ops::Audit::recent(tx, ua->limit, target);
        });
        json out = json::array();
        for (const auto& e : entries)
          out.push_back({{"id", e.id},
                         {"at", e.created_at},
                         {"actor_id", e.actor_id},
                         {"via", e.via},
                         {"action", e.action},
                         {"target_user_id", e.target_user_id ? json(*e.target_user_id) : json()},
                         {"details", e.details}});
        if (as_json) {
          std::cout << out.dump() << "\n";
        } else {
          std::cout << fmt::format("{:<19} {:<16} {:<12} {:<4} {:<14} {}\n", "AT (UTC)", "ACTION", "ACTOR", "VIA",
                                   "USER", "DETAILS");
          for (const auto& e : entries)
            std::cout << fmt::format("{:<19} {:<16} {:<12} {:<4} {:<14} {}\n", e.created_at, e.action, e.actor_id,
                                     e.via, e.target_user_id ? std::to_string(*e.target_user_id) : "-",
                                     e.details.dump());
        }
        co_return 0;
      });
    if (*user_list)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto users = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::vector<ops::UserRow>> {
          co_return co_await ops::list_users(tx, ua->after, ua->limit);
        });
        json out = json::array();
        for (const auto& u : users)
          out.push_back({{"id", u.id},
                         {"username", u.username},
                         {"first_name", u.first_name},
                         {"joined", u.created_at},
                         {"reachable", u.reachable},
                         {"banned", u.banned},
                         {"expires_at", u.expires_at ? json(*u.expires_at) : json()}});
        if (as_json) {
          std::cout << out.dump() << "\n";
        } else {
          std::cout << fmt::format("{:<14} {:<20} {:<16} {:<10} {:<17} {}\n", "ID", "USERNAME", "NAME", "JOINED",
                                   "EXPIRES (UTC)", "FLAGS");
          for (const auto& u : users)
            std::cout << fmt::format("{:<14} {:<20} {:<16} {:<10} {:<17} {}\n", u.id,
                                     u.username.empty() ? "-" : "@" + u.username, u.first_name.substr(0, 16),
                                     u.created_at, u.expires_at.value_or("-"),
                                     std::string(u.banned ? "banned " : "") + (u.reachable ? "" : "blocked"));
        }
        co_return 0;
      });
    if (*user_show)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto card = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::optional<ops::UserCard>> {
          auto id = co_await ops::find_user(tx, ua->query);
          if (!id) co_return std::nullopt;
          co_return co_await ops::load_user_card(tx, *id, 3);
        });
        if (!card) {
          std::cerr << "vpnbot admin: no user " << ua->query << "\n";
          co_return 1;
        }
        std::cout << (as_json ? card->to_json().dump() : card->render(false)) << "\n";
        co_return 0;
      });
    if (*ban || *unban) {
      bool banning = ban->parsed();
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto changed = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
          co_return co_await ops::Operations::set_banned(tx, actor, ua->user, banning, ua->reason);
        });
        std::cout << (as_json ? json{{"user_id", ua->user}, {"banned", banning}, {"configs_changed", changed}}.dump()
                              : "user " + std::to_string(ua->user) + (banning ? " banned, " : " unbanned, ") +
                                    std::to_string(changed) + " config(s) switched " + (banning ? "off" : "on"))
                  << "\n";
        co_return 0;
      });
    }
    if (*plan_list)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto plans = co_await pool.transaction([](db::Transaction& tx) -> awaitable<std::vector<billing::Plan>> {
          co_return co_await billing::Plans::all(tx);
        });
        print_plans(plans, as_json);
        co_return 0;
      });
    if (*plan_add) {
      pa->plan.price_rub = rub_arg(pa->price_rub, "--price-rub");
      pa->plan.title = {{"en", pa->title_en}, {"ru", pa->title_ru.empty() ? pa->title_en : pa->title_ru}};
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        co_await db::migrate(pool, db::embedded_migrations());
        auto created = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<billing::Plan> {
          co_return co_await ops::Operations::create_plan(tx, actor, pa->plan);
        });
        std::vector<billing::Plan> one{created};
        print_plans(one, as_json);
        co_return 0;
      });
    }
    if (*plan_set) {
      std::string value = pa->value;
      if (pa->field == "price_rub") value = std::to_string(rub_arg(value, "value"));
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        bool ok = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<bool> {
          co_return co_await ops::Operations::set_plan_field(tx, actor, pa->code, pa->field, value);
        });
        if (!ok) std::cerr << "vpnbot admin: no plan with code " << pa->code << "\n";
        co_return ok ? 0 : 1;
      });
    }
    if (*promo_add) {
      const auto& kind = pr->promo.kind;
      if (kind == "fixed" || kind == "balance") {
        pr->promo.value = rub_arg(pr->value, "--value");
      } else if (kind != "plan" && kind != "group") {
        try {
          pr->promo.value = std::stoll(pr->value);
        } catch (const std::exception&) {
          throw CLI::ValidationError("--value", "'" + pr->value + "' must be a whole number for kind " + kind);
        }
      }
      if (kind == "plan" && pr->unlock_plan.empty())
        throw CLI::ValidationError("--unlock-plan", "kind plan needs --unlock-plan CODE");
      if ((kind == "group") != !pr->group.empty())
        throw CLI::ValidationError("--group", "--group NAME goes with kind group, and only with it");
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto created = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<billing::PromoCode> {
          billing::NewPromo p = pr->promo;
          if (!pr->unlock_plan.empty()) {
            auto target = co_await billing::Plans::by_code(tx, pr->unlock_plan);
            if (!target) throw std::invalid_argument("no plan with code " + pr->unlock_plan);
            p.unlock_plan_id = target->id;
          }
          if (!pr->group.empty()) {
            auto group = co_await billing::PromoGroups::by_name(tx, pr->group);
            if (!group) throw std::invalid_argument("no promo group " + pr->group);
            p.group_id = group->id;
          }
          std::string rest = pr->plans;
          while (!rest.empty()) {
            auto comma = rest.find(',');
            std::string code = rest.substr(0, comma);
            rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
            auto found = co_await billing::Plans::by_code(tx, code);
            if (!found) throw std::invalid_argument("no plan with code " + code);
            p.plan_ids.push_back(found->id);
          }
          co_return co_await ops::Operations::create_promo(tx, actor, p);
        });
        std::vector<billing::PromoCode> one{created};
        print_promos(one, as_json);
        co_return 0;
      });
    }
    if (*promo_list)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        std::vector<billing::PromoCode> all;
        int64_t after = 0;
        for (;;) {  // keyset pages: never the whole table in one result
          auto page = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::vector<billing::PromoCode>> {
            co_return co_await billing::Promos::list(tx, after, 500);
          });
          if (page.empty()) break;
          after = page.back().id;
          all.insert(all.end(), page.begin(), page.end());
          if (page.size() < 500) break;
        }
        print_promos(all, as_json);
        co_return 0;
      });
    if (*promo_disable || *promo_enable) {
      bool active = promo_enable->parsed();
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        bool ok = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<bool> {
          co_return co_await ops::Operations::set_promo_active(tx, actor, pr->code, active);
        });
        if (!ok) std::cerr << "vpnbot admin: no promo code " << pr->code << "\n";
        co_return ok ? 0 : 1;
      });
    }
    if (*order_list)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto orders = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<std::vector<billing::Order>> {
          std::optional<int64_t> user_id;
          if (oa->user) user_id = oa->user;
          std::optional<std::string> state;
          if (!oa->state.empty()) state = oa->state;
          co_return co_await billing::Orders::list(tx, user_id, state, INT64_MAX, oa->limit);
        });
        json out = json::array();
        for (const auto& o : orders)
          out.push_back({{"id", o.id},
                         {"user_id", o.user_id},
                         {"provider", o.provider},
                         {"amount", o.amount},
                         {"currency", o.currency},
                         {"state", o.state},
                         {"payment_id", o.provider_payment_id.value_or("")}});
        if (as_json) {
          std::cout << out.dump() << "\n";
        } else {
          std::cout << fmt::format("{:<8} {:<14} {:<9} {:>10} {:<4} {:<9} {}\n", "ID", "USER", "PROVIDER", "AMOUNT",
                                   "CUR", "STATE", "PAYMENT");
          for (const auto& o : orders)
            std::cout << fmt::format("{:<8} {:<14} {:<9} {:>10} {:<4} {:<9} {}\n", o.id, o.user_id, o.provider,
                                     o.currency == "RUB" ? billing::rub_decimal(o.amount) : std::to_string(o.amount),
                                     o.currency, o.state, o.provider_payment_id.value_or(""));
        }
        co_return 0;
      });
    if (*order_refund)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto result = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<ops::RefundResult> {
          co_return co_await ops::Operations::refund_order(tx, actor, oa->id, oa->note);
        });
        bool ok = result.outcome != ops::RefundOutcome::refused;
        (ok ? std::cout : std::cerr) << (ok ? "" : "vpnbot admin: ") << result.message << "\n";
        co_return ok ? 0 : 1;
      });
    if (*grant)
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto sub = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<billing::Subscription> {
          co_return co_await ops::Operations::grant_days(tx, actor, ua->user, ua->days, ua->devices);
        });
        std::cout << (as_json ? json{{"user_id", ua->user}, {"expires_at", sub.expires_at}}.dump()
                              : "user " + std::to_string(ua->user) + " is subscribed until " + sub.expires_at + " UTC")
                  << "\n";
        co_return 0;
      });
    if (*balance) {
      int64_t amount = rub_arg(ua->amount, "amount");
      if (amount == 0) throw CLI::ValidationError("amount", "must not be zero");
      return run_db(config, [=](db::Pool& pool) -> awaitable<int> {
        auto totals = co_await pool.transaction([&](db::Transaction& tx) -> awaitable<billing::Totals> {
          ops::Actor by = actor;
          if (ua->admin) by.id = ua->admin;
          co_return co_await ops::Operations::adjust_balance(tx, by, ua->user, amount, ua->reason);
        });
        std::cout << (as_json
                          ? json{{"user_id", ua->user}, {"balance", billing::rub_decimal(totals.balance)}}.dump()
                          : "balance of " + std::to_string(ua->user) + " is now " + billing::format_rub(totals.balance))
                  << "\n";
        co_return 0;
      });
    }
    return std::nullopt;
  };
}

}  // namespace vpnbot::admin
