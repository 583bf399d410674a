#include "support/jobs.hpp"

#include <memory>

#include "core/encoding.hpp"
#include "core/log.hpp"
#include "support/relay.hpp"
#include "support/tickets.hpp"

namespace vpnbot::support {
namespace {

int64_t ticket_of(const jobs::JobContext& ctx) {
  const auto& payload = ctx.job.payload;
  if (!payload.contains("ticket_id") || !payload["ticket_id"].is_number_integer())
    throw jobs::PermanentJobError(ctx.job.kind + " without a ticket_id");
  return payload["ticket_id"].get<int64_t>();
}

}  // namespace

void register_job_handlers(jobs::Worker& worker, SupportJobOptions options) {
  auto deps = std::make_shared<const SupportJobOptions>(std::move(options));
  worker.on("support.topic", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t ticket_id = ticket_of(ctx);
    struct Who {
      int64_t user_id = 0;
      std::optional<int64_t> topic_id;
      std::string first_name, username, language;
      std::optional<std::string> expires_at;
    };
    auto who = co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<std::optional<Who>> {
      auto r = co_await tx.exec(
          "SELECT t.user_id, t.topic_id, u.first_name, coalesce(u.username, ''), u.language, "
          "to_char(s.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM tickets t JOIN users u ON u.id = "
          "t.user_id LEFT JOIN subscriptions s ON s.user_id = t.user_id WHERE t.id = $1",
          ticket_id);
      if (r.empty()) co_return std::nullopt;
      Who w;
      r.read(0, w.user_id, w.topic_id, w.first_name, w.username, w.language, w.expires_at);
      co_return w;
    });
    if (!who) throw jobs::PermanentJobError("no ticket " + std::to_string(ticket_id));
    if (who->topic_id) co_return;  // made by an earlier run, which relayed everything under the same lock
    // 1-128 characters: "#12 Anna (@anna)".
    std::string name = "#" + std::to_string(ticket_id) + " " + who->first_name +
                       (who->username.empty() ? "" : " (@" + who->username + ")");
    int64_t topic_id = co_await deps->create_topic(utf8_prefix(name, 128));
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      auto ticket = co_await Tickets::get(tx, ticket_id, true);
      if (!ticket || !co_await Tickets::set_topic(tx, ticket_id, topic_id)) {
        // Another run stored its topic first (a retry after a lost answer): this one stays empty.
        log::warn("support", "a second topic was made for a ticket and is left unused",
                  {{"ticket_id", ticket_id}, {"topic_id", topic_id}});
        co_await ctx.complete_in(tx);
        co_return;
      }
      std::string header = "🆘 <b>Ticket #" + std::to_string(ticket_id) + "</b> from " + html_escape(who->first_name) +
                           (who->username.empty() ? "" : " @" + html_escape(who->username)) + " (id <code>" +
                           std::to_string(who->user_id) + "</code>, language " + who->language + ", " +
                           (who->expires_at ? "subscription until " + *who->expires_at + " UTC" : "no subscription") +
                           ").\nWrite here to answer; /close closes the ticket, /reopen opens it again.";
      co_await say_in_topic(tx, deps->chat_id, topic_id, std::move(header),
                            "ticket-header:" + std::to_string(ticket_id));
      for (const auto& m : co_await Tickets::unrelayed(tx, ticket_id))
        co_await relay_to_topic(tx, deps->chat_id, topic_id, m.from_chat_id, m.message_id, m.id);
      if (ticket->state == "closed")
        co_await set_topic_state(tx, deps->chat_id, topic_id, false,
                                 "ticket-close:" + std::to_string(ticket_id) + ":topic");
      co_await ctx.complete_in(tx);
    });
    log::info("support", "ticket topic made", {{"ticket_id", ticket_id}, {"topic_id", topic_id}});
  });

  worker.on("support.close", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t ticket_id = ticket_of(ctx);
    if (!deps->close_by_staff)
      throw std::runtime_error("this worker cannot close tickets (no bot: telegram_mode is off)");
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      co_await deps->close_by_staff(tx, ticket_id, "cli:" + std::to_string(ctx.job.id));
      co_await ctx.complete_in(tx);
    });
  });

  worker.on("support.sla", [deps](jobs::JobContext& ctx) -> awaitable<void> {
    int64_t now_ms = ctx.job.payload.value("at_ms", int64_t{0});
    if (now_ms == 0)
      now_ms = std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch()).count();
    co_await ctx.pool.transaction([&](db::Transaction& tx) -> awaitable<void> {
      auto overdue = co_await Tickets::take_overdue(tx, deps->sla_minutes, now_ms, 100);
      for (const auto& t : overdue) {
        std::string text = "⏰ Ticket #" + std::to_string(t.id) +
                           ": the user has been waiting for an answer for more "
                           "than " +
                           std::to_string(deps->sla_minutes) + " min.";
        co_await say_in_topic(tx, deps->chat_id, *t.topic_id, std::move(text),
                              "ticket-sla:" + std::to_string(t.id) + ":" + std::to_string(now_ms));
      }
      if (!overdue.empty()) log::info("support", "staff reminded of waiting tickets", {{"tickets", overdue.size()}});
      co_await ctx.complete_in(tx);
    });
  });
}

std::vector<jobs::PeriodicTask> periodic_tasks(int64_t chat_id) {
  if (chat_id == 0) return {};
  return {{"support.sla", Millis(60000), [] { return jobs::NewJob{.kind = "support.sla"}; }}};
}

}  // namespace vpnbot::support
