#pragma once
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "billing/gifts.hpp"
#include "billing/jobs.hpp"
#include "billing/orders.hpp"
#include "bot/callback.hpp"
#include "bot/i18n.hpp"
#include "bot/users.hpp"
#include "budgets/budgets.hpp"
#include "core/local_time.hpp"
#include "db/pool.hpp"
#include "shop/checkout.hpp"
#include "shop/configs.hpp"
#include "shop/tickets.hpp"
#include "telegram/bot_api.hpp"
#include "telegram/dispatcher.hpp"
#include "telegram/inbox.hpp"
#include "telegram/outbox.hpp"
#include "vpn/keys.hpp"
#include "vpn/remnawave/apps.hpp"

namespace vpnbot::bot {

struct BotOptions {
  std::string bot_username;  // for referral links (t.me/<username>?start=ref_<code>)
  std::set<int64_t> admin_ids;
  const vpn::SecretBox* secret_box = nullptr;  // opens stored private keys for config delivery
  billing::BillingOptions billing;
  std::vector<std::string> payment_methods{"stars", "balance"};  // enabled: yookassa, heleket, stars, balance
  int default_device_limit = 1;                                  // for promo days without a plan
  // YooKassa autopayments: the card checkout offers to save the card, and auto-renewal charges it first.
  bool save_cards = false;
  // Xray (Remnawave) locations: "open in <app>" buttons point at the gateway's /open page under public_url.
  std::string public_url;
  std::vector<remnawave::ClientApp> panel_apps;
  std::string open_page_key;  // signs the /open links (remnawave::open_page_key of the bot token)
  // What one user may ask for per window (updates, checkouts, support messages, tickets, config requests).
  budgets::Settings budgets;
  // Terms of service accepted before anything else (0 = none); text by language, "en" required when set.
  int rules_version = 0;
  std::map<std::string, std::string> rules_text;
  std::string time_zone = "Europe/Moscow";  // users see dates in it (LocalClock)
  // Channels a user must have joined before buying, read through `channel_member` (nullopt: Telegram could not
  // tell, which is not held against the user) and trusted for `channel_cache`; recheck_channels = false ("ignore"
  // policy): a user who passed once is not asked again.
  std::vector<std::string> required_channels;
  Millis channel_cache{300000};
  bool recheck_channels = true;
  std::function<awaitable<std::optional<bool>>(std::string channel, int64_t user_id)> channel_member;
  // Support tickets go to topics of this forum supergroup (0: no Support button); the staff are reminded after
  // support_sla_minutes without an answer.
  int64_t support_chat_id = 0;
  int support_sla_minutes = 60;
};

// getChatMember through the Bot API, with a deadline: whether the user is in the channel, or nullopt when Telegram
// refused (the bot is not an administrator there, no such channel) or did not answer in time (logged).
awaitable<std::optional<bool>> is_channel_member(telegram::BotApi& api, std::string channel, int64_t user_id);

// An update that can never be handled (no sender, unknown shape): skipped, not retried.
class UnhandledUpdate : public telegram::SkipUpdate {
  using telegram::SkipUpdate::SkipUpdate;
};

struct Context;  // one update on its way through the bot (bot/context.hpp)

// The conversation layer: turns one update into database changes and outbox messages, all inside the
// caller's transaction (so an update's effects, its replies and its "done" mark commit together).
class Bot {
 public:
  Bot(BotOptions options, const Catalog& catalog)
      : options_(std::move(options)),
        selling_{options_.billing, options_.payment_methods, options_.save_cards, options_.budgets},
        catalog_(catalog),
        clock_(options_.time_zone) {}

  awaitable<void> handle(db::Transaction& tx, const telegram::InboxUpdate& update);
  // Before the update's transaction: asks Telegram about the required channels when the update leads to a purchase
  // and the stored answer is stale (or the user pressed "I've subscribed"), and stores the answer for handle().
  awaitable<void> check_channels_before(db::Pool& pool, const telegram::InboxUpdate& update);
  // The apology for an update that failed every attempt, in the user's language; at most one per update.
  awaitable<void> apologise(db::Pool& pool, const telegram::InboxUpdate& update);

  const BotOptions& options() const { return options_; }
  // The admin panel's callback routes ("adm:<route>:..."), for the test that walks them all as a non-admin.
  static std::set<std::string> admin_actions();
  const Catalog& catalog() const { return catalog_; }
  // Users' dates and times, in the configured time zone.
  const LocalClock& clock() const { return clock_; }
  // Renders billing notices (payment link, failure, receipt, refund) into the outbox, in the user's language.
  billing::BillingNotifier notifier() const;
  // Sends a config (file + QR) to its owner; used after a provisioning job created it.
  // With `receipt_order`, the order's receipt becomes the file's caption unless it was sent already.
  awaitable<void> deliver_config_to(db::Transaction& tx, int64_t user_id, int64_t peer_id,
                                    std::optional<int64_t> receipt_order = std::nullopt) const;
  // Sends an Xray account's subscription link (message with app buttons + QR code) to its owner.
  awaitable<void> deliver_panel_link_to(db::Transaction& tx, int64_t user_id, int64_t account_id) const;
  // One notice when a period's traffic is used up: on an Xray location, or the WireGuard quota (whose configs are
  // off until a top-up or a renewal).
  awaitable<void> tell_traffic_used_up(db::Transaction& tx, int64_t user_id, bool wireguard);
  void set_bot_username(std::string username) { options_.bot_username = std::move(username); }
  bool is_admin(const Context& ctx) const;
  // The selling part of the options, for the shop core's checkout; the support part, for its tickets.
  const shop::SellingRules& selling() const { return selling_; }
  shop::SupportSettings support_settings() const;
  // "12.3 of 50 GB" with a bar, or the used traffic alone when there is no limit.
  std::string traffic_text(const std::string& lang, int64_t used_bytes, int64_t limit_bytes) const;
  // A ticket closed by the staff (topic closed, the user told), for the bot's support group and the admin CLI.
  // False when it was not open.
  awaitable<bool> close_ticket_by_staff(db::Transaction& tx, int64_t ticket_id, std::string unique_suffix) const;

 private:
  // An update on its way to its handler, as the gates see it.
  struct Arrival {
    const std::string& kind;
    const telegram::json& body;
    bool payment = false;  // a pre-checkout or a successful payment: passes every gate but the handler's own checks
    bool paid = false;     // a successful payment: recorded even for a banned user
    std::optional<DecodedCallback> pressed;  // a callback query's button
  };
  // The gates in front of every update, in order (bot/gates.cpp): each answers and stops the update, or lets it on.
  struct Gate {
    const char* name;
    awaitable<bool> (Bot::*stops)(Context& ctx, const Arrival& arrival);
  };
  static const std::vector<Gate>& gates();
  awaitable<bool> stopped_by_ban(Context& ctx, const Arrival& arrival);
  awaitable<bool> stopped_by_budget(Context& ctx, const Arrival& arrival);
  awaitable<bool> stopped_by_maintenance(Context& ctx, const Arrival& arrival);
  awaitable<bool> stopped_by_terms(Context& ctx, const Arrival& arrival);
  awaitable<bool> stopped_by_channels(Context& ctx, const Arrival& arrival);
  awaitable<void> handle_update(db::Transaction& tx, const telegram::InboxUpdate& update);
  awaitable<void> on_message(Context& ctx, const telegram::json& message);
  awaitable<void> on_callback(Context& ctx, const telegram::json& query);
  awaitable<void> on_chat_member(db::Transaction& tx, const telegram::json& member);
  awaitable<void> on_command(Context& ctx, const std::string& command, const std::string& argument);
  awaitable<void> show_screen(Context& ctx, const std::string& screen, std::optional<int64_t> edit_message_id);
  // Answers an update the bot does not serve (a banned user, maintenance) with `notice`, in the update's own way:
  // a refused pre-checkout, a callback answer, or a message.
  awaitable<void> answer_with_notice(Context& ctx, const std::string& kind, const telegram::json& body,
                                     std::string notice);
  // Whether the user may buy: a member of every required channel, by the answers check_channels_before stored.
  awaitable<bool> channels_allow(Context& ctx);
  // The channels to join, with their links and an "I've subscribed" button.
  awaitable<void> show_channel_gate(Context& ctx, std::optional<int64_t> edit_message_id);
  // The terms of service with an Accept button, for a user who has not accepted the current version.
  awaitable<void> show_rules(Context& ctx);
  // A /start held at a gate (maintenance, terms of service) keeps its referral code although no menu is shown.
  awaitable<void> keep_start_of(Context& ctx, const std::string& kind, const telegram::json& body);
  // Support tickets (bot/support.cpp): a user's message for their ticket (opened now if none is open and they asked on
  // the Support screen); false when it is not one.
  awaitable<bool> on_support_message(Context& ctx, const telegram::json& message);
  awaitable<void> on_support_group_message(db::Transaction& tx, int64_t update_id, const telegram::json& message);

  // Takes one unit of the user's `kind` budget: nullopt while within it, else the notice to give ("" for none:
  // with `once`, only the first ask past the limit in a window is told, for answers that would be messages).
  awaitable<std::optional<std::string>> spend_budget(Context& ctx, budgets::Kind kind, bool once = false);
  awaitable<void> on_pre_checkout(Context& ctx, const telegram::json& query);
  awaitable<void> on_successful_payment(Context& ctx, const telegram::json& payment);
  awaitable<void> on_promo_code(Context& ctx, const std::string& code);
  // Gifts (bot/shop.cpp): the buyer's code and link after payment, and a redemption by /start gift_<code> or a
  // typed code.
  std::string gift_link(const std::string& code) const;
  // A paid plan's receipt: its text and buttons (a message of its own, or the caption of the first config).
  awaitable<std::pair<std::string, telegram::json>> plan_receipt(db::Transaction& tx, const billing::Order& order,
                                                                 const std::string& lang) const;
  // The receipt of the order a config was provisioned for (`provision_key`, "order:<id>"), claimed now so it is sent
  // once: nullopt when there is none, it is another user's, or it went out already.
  awaitable<std::optional<std::pair<std::string, telegram::json>>> claim_receipt(db::Transaction& tx, int64_t user_id,
                                                                                 std::optional<int64_t> order_id,
                                                                                 const std::string& lang) const;
  awaitable<void> send_gift_code(db::Transaction& tx, const billing::Order& order, const std::string& lang,
                                 const std::string& title) const;
  awaitable<void> redeem_gift(Context& ctx, const std::string& code);
  // The redeemer's answer (and the buyer's notice) for a gift code's outcome.
  awaitable<void> show_gift_outcome(Context& ctx, const billing::GiftOutcome& outcome);
  // The admin panel (bot/admin_panel.cpp): every route checks is_admin first.
  awaitable<void> on_admin_callback(Context& ctx, const std::string& query_id, const std::vector<std::string>& args,
                                    std::optional<int64_t> message_id);
  // Answers an admin prompt (find user, balance, new plan/promo, broadcast text); false when none is open.
  awaitable<bool> on_admin_text(Context& ctx, const std::string& text);
  awaitable<void> show_admin_screen(Context& ctx, const std::vector<std::string>& screen,
                                    std::optional<int64_t> edit_message_id);
  // Edits the message in place when there is one, else sends a new one.
  awaitable<void> present(Context& ctx, std::string text, telegram::json markup,
                          std::optional<int64_t> edit_message_id);
  awaitable<void> send_to_user(db::Transaction& tx, int64_t user_id, std::string text, telegram::json markup,
                               std::string unique_key) const;

  BotOptions options_;
  shop::SellingRules selling_;  // the selling part of options_, for the shop core
  const Catalog& catalog_;
  LocalClock clock_;
};

}  // namespace vpnbot::bot
