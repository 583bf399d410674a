#include "bot/reminders.hpp"

#include "billing/ledger.hpp"
#include "billing/orders.hpp"
#include "billing/saved_methods.hpp"
#include "bot/callback.hpp"
#include "bot/context.hpp"
#include "bot/routes.hpp"
#include "core/log.hpp"

namespace vpnbot::bot {
namespace {

using telegram::json;

constexpr int kPage = 500;

int64_t at_ms_of(const jobs::ClaimedJob& job) {
  if (job.payload.contains("at_ms") && job.payload["at_ms"].is_number_integer()) return job.payload["at_ms"];
  return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count();
}

json renew_keyboard(const Catalog& catalog, const std::string& lang) {
  return keyboard({{button(catalog.text(lang, "reminder.renew_button"), route::screen("buy"))}});
}

// The provider's decline code (after "payment canceled: ") in the user's words.
std::string decline_reason_text(const Catalog& catalog, const std::string& lang, const std::string& reason) {
  for (const char* code : {"insufficient_funds", "card_expired", "permission_revoked"})
    if (reason.find(code) != std::string::npos) return catalog.text(lang, std::string("decline.") + code);
  if (reason.find("card was removed") != std::string::npos) return catalog.text(lang, "decline.card_removed");
  return catalog.text(lang, "decline.other");
}

}  // namespace

void register_reminder_jobs(jobs::Worker& worker, const Bot& bot, ReminderOptions options) {
  worker.on("billing.reminders", [&bot, options](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t at = at_ms_of(ctx.job);
    const Catalog& catalog = bot.catalog();
    int64_t sent = 0;
    for (int hours : options.hours) {
      int64_t offset = int64_t(hours) * 3600 * 1000, after = 0;
      for (;;) {  // keyset pages over the (indexed) expiry window
        auto r = co_await ctx.pool.exec(R"sql(
SELECT s.id, s.user_id, (extract(epoch FROM s.expires_at) * 1000)::bigint,
       to_char(s.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), u.language
FROM subscriptions s JOIN users u ON u.id = s.user_id
WHERE s.expires_at <= to_timestamp(($1::bigint + $2::bigint)::double precision / 1000)
  AND s.expires_at > to_timestamp(($1::bigint + $2::bigint - $3::bigint)::double precision / 1000)
  AND s.updated_at <= s.expires_at - make_interval(secs => $2::bigint::double precision / 1000)
  AND u.reachable AND NOT u.banned AND s.id > $4
ORDER BY s.id LIMIT $5)sql",
                                        at, offset, options.lookback.count(), after, kPage);
        for (int i = 0; i < r.rows(); ++i) {
          int64_t sub = r.get<int64_t>(i, 0), user = r.get<int64_t>(i, 1), expires_ms = r.get<int64_t>(i, 2);
          std::string expires = r.get<std::string>(i, 3), lang = r.get<std::string>(i, 4);
          std::string left = hours % 24 == 0 ? catalog.plural(lang, "plural.days", hours / 24)
                                             : catalog.plural(lang, "plural.hours", hours);
          std::string text = hours == 0 ? catalog.text(lang, "reminder.expired")
                                        : catalog.text(lang, "reminder.before",
                                                       {{"left", left}, {"expires", bot.clock().show(expires)}});
          telegram::OutMessage m;
          m.chat_id = user;
          m.priority = telegram::kPriorityNotice;
          m.delivery = telegram::Delivery::at_most_once;  // bulk: never twice
          m.payload = {{"text", text}, {"reply_markup", renew_keyboard(catalog, lang)}};
          // The expiry is in the key: after a renewal the old expiry's reminders can never match again.
          m.unique_key =
              "reminder:" + std::to_string(sub) + ":" + std::to_string(expires_ms) + ":" + std::to_string(hours);
          telegram::Outbox outbox(ctx.pool);
          if (co_await outbox.enqueue(m)) ++sent;
          after = sub;
        }
        if (r.rows() < kPage) break;
      }
    }
    if (sent > 0) log::info("scheduler", "expiry reminders queued", {{"count", sent}});
  });

  worker.on("billing.auto_renew", [&bot, options](jobs::JobContext& ctx) -> awaitable<void> {
    // Due from `auto_renew_before` ahead of expiry; a renewal missed while no scheduler ran (up to the lookback,
    // even just past expiry) is still made: the user asked for it.
    int64_t at = at_ms_of(ctx.job), after = 0;
    for (;;) {
      auto due = co_await ctx.pool.exec(R"sql(
SELECT s.id, s.user_id, s.expires_at::text FROM subscriptions s JOIN users u ON u.id = s.user_id
WHERE s.auto_renew AND s.plan_id IS NOT NULL AND NOT u.banned
  AND s.expires_at > to_timestamp(($1::bigint - $4::bigint)::double precision / 1000)
  AND s.expires_at <= to_timestamp(($1::bigint + $2::bigint)::double precision / 1000)
  AND s.auto_renew_tried_for IS DISTINCT FROM s.expires_at AND s.id > $3
ORDER BY s.id LIMIT 100)sql",
                                        at, options.auto_renew_before.count(), after, options.lookback.count());
      for (int i = 0; i < due.rows(); ++i) {
        int64_t sub = due.get<int64_t>(i, 0), user = due.get<int64_t>(i, 1);
        std::string expiry = due.get<std::string>(i, 2);
        after = sub;
        co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
          auto claimed = co_await claim_auto_renewal(tx, sub, expiry);
          if (!claimed) co_return;
          int64_t plan_id = *claimed;
          // A saved card is charged first (by a job: the provider call is outside this transaction); the balance
          // is the fallback when it is declined.
          std::optional<billing::SavedMethod> card;
          if (bot.options().save_cards) card = co_await billing::SavedMethods::get(tx, user);
          if (card) {
            std::optional<billing::Order> order;
            try {
              order = co_await billing::SavedMethods::create_renewal(tx, *card, plan_id, bot.options().billing);
            } catch (const billing::PlanUnavailable&) {
              co_return;  // the plan is gone: the expiry reminders take over
            }
            if (order)
              log::info("scheduler", "auto-renewal: charging the saved card",
                        {{"user_id", user}, {"order_id", order->id}});
            co_return;
          }
          co_await renew_from_balance_or_tell(tx, bot, user, plan_id, "");
        });
      }
      if (due.rows() < 100) break;
    }
  });
}

awaitable<std::optional<int64_t>> claim_auto_renewal(db::Transaction& tx, int64_t subscription_id,
                                                     const std::string& expiry) {
  // The conditional UPDATE decides, and it names the expiry the job saw: a racing job that waited on the row lock
  // while the other renewed would otherwise find the new expiry "not tried yet" and renew a second time.
  auto claimed = co_await tx.exec(
      "UPDATE subscriptions SET auto_renew_tried_for = expires_at WHERE id = $1 AND expires_at = $2::timestamptz "
      "AND auto_renew_tried_for IS DISTINCT FROM expires_at RETURNING plan_id",
      subscription_id, expiry);
  if (claimed.empty()) co_return std::nullopt;
  co_return claimed.get<int64_t>(0, 0);
}

awaitable<void> renew_from_balance_or_tell(db::Transaction& tx, const Bot& bot, int64_t user_id, int64_t plan_id,
                                           std::string card_declined) {
  const auto& billing_options = bot.options().billing;
  const Catalog& catalog = bot.catalog();
  std::optional<billing::Quote> quote;
  try {
    quote = co_await billing::Orders::quote(tx, user_id, plan_id, billing_options);
  } catch (const billing::PlanUnavailable&) {
  }
  if (!quote) co_return;  // the plan is gone: the expiry reminders take over
  std::string lang = co_await Users::language_of(tx, user_id);
  std::string declined_line;
  if (!card_declined.empty())
    declined_line =
        catalog.text(lang, "renewal.card_declined", {{"reason", decline_reason_text(catalog, lang, card_declined)}}) +
        "\n";
  auto totals = co_await billing::Ledger::totals(tx, user_id);
  auto sub = co_await tx.exec(
      "SELECT id, (extract(epoch FROM expires_at) * 1000)::bigint, "
      "to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM subscriptions WHERE user_id = $1",
      user_id);
  if (sub.empty()) co_return;
  std::string expiry_key = std::to_string(sub.get<int64_t>(0, 0)) + ":" + std::to_string(sub.get<int64_t>(0, 1));
  telegram::OutMessage m;
  m.chat_id = user_id;
  m.priority = telegram::kPriorityNotice;
  m.delivery = telegram::Delivery::at_most_once;  // bulk: never twice
  if (totals.balance >= quote->price.rub) {
    std::string provider = "balance";
    auto order = co_await billing::Orders::create(tx, user_id, plan_id, provider, billing_options);
    auto result = co_await billing::Orders::pay_from_balance(tx, order, billing_options);
    log::info("scheduler", "auto-renewed from the balance",
              {{"user_id", user_id}, {"order_id", order.id}, {"result", billing::to_string(result)}});
    if (declined_line.empty()) co_return;  // the receipt says it all
    m.payload = {{"text", declined_line + catalog.text(lang, "renewal.paid_from_balance")}};
    m.unique_key = "renewal-declined:" + expiry_key;
    co_await telegram::Outbox::enqueue(tx, m);
    co_return;
  }
  m.payload = {{"text", declined_line + catalog.text(lang, "reminder.auto_renew_low",
                                                     {{"expires", bot.clock().show(sub.get<std::string>(0, 2))},
                                                      {"amount", billing::format_rub(quote->price.rub)},
                                                      {"balance", billing::format_rub(totals.balance)}})},
               {"reply_markup", renew_keyboard(catalog, lang)}};
  m.unique_key = "auto-renew-low:" + expiry_key;
  co_await telegram::Outbox::enqueue(tx, m);
}

std::vector<jobs::PeriodicTask> reminder_tasks() {
  return {{"billing.reminders", Millis(60000), [] { return jobs::NewJob{.kind = "billing.reminders"}; }},
          {"billing.auto_renew", Millis(600000), [] { return jobs::NewJob{.kind = "billing.auto_renew"}; }}};
}

}  // namespace vpnbot::bot
