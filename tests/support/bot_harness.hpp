#pragma once
// The bot in-process on a throwaway PostgreSQL: updates go straight to Bot::handle (no gateway, no Telegram) and what
// it would send is read back from the outbox. For specifications of screens and admin pages that need no network:
// a press takes milliseconds.
#include <memory>
#include <string>
#include <vector>

#include "bot/bot.hpp"
#include "support/pg_fixture.hpp"
#include "support/test_node.hpp"
#include "vpn/keys.hpp"

namespace vpnbot::testing {

class BotHarness : public AsyncDbTest {
 protected:
  using json = nlohmann::json;

  // The database and the bot (with the harness's secret box and the embedded catalogs).
  void start_bot(bot::BotOptions options) {
    pool = make_pool();
    options.secret_box = &box;
    the_bot = std::make_unique<bot::Bot>(std::move(options), bot::Catalog::embedded());
  }

  // A WireGuard node "nl-1" in Amsterdam (10.9.0.0/28) for configs and the locations screen.
  void add_node() {
    vpn::VpnStore store(*pool, box);
    vpn::NodeSpec node = test_node("nl-1", "10.9.0.0/28");
    run(store.add_node(node));
  }

  static json from(int64_t user_id) {
    return {{"id", user_id},
            {"is_bot", false},
            {"first_name", "U" + std::to_string(user_id)},
            {"username", "user" + std::to_string(user_id)}};
  }
  void handle(const std::string& kind, json body, int64_t chat_id) {
    int64_t update_id = ++next_update_id;
    json payload{{"update_id", update_id}, {kind, body}};
    telegram::InboxUpdate update{update_id, chat_id, kind, payload, 1};
    run(pool->transaction([&](db::Transaction& tx) -> awaitable<void> { co_await the_bot->handle(tx, update); }));
  }
  void send_text(int64_t user_id, const std::string& text) {
    handle("message",
           {{"message_id", next_update_id + 1},
            {"date", 1700000000},
            {"chat", {{"id", user_id}, {"type", "private"}}},
            {"from", from(user_id)},
            {"text", text}},
           user_id);
  }
  // A button under a text message (so the screen it opens is an edit of that message).
  void press(int64_t user_id, const std::string& data) {
    handle("callback_query",
           {{"id", "q" + std::to_string(next_update_id + 1)},
            {"from", from(user_id)},
            {"message", {{"message_id", 5}, {"chat", {{"id", user_id}, {"type", "private"}}}, {"text", "menu"}}},
            {"data", data}},
           user_id);
  }
  // The calls queued for `chat_id` after outbox row `after_id`, in order: {"method", "payload"} each.
  std::vector<json> messages_to(int64_t chat_id, int64_t after_id) {
    auto text = query_value_sync(
        url,
        "SELECT coalesce(json_agg(json_build_object('method', method, 'payload', payload) ORDER BY id), '[]') "
        "FROM outbox WHERE chat_id = " +
            std::to_string(chat_id) + " AND id > " + std::to_string(after_id));
    return json::parse(text).get<std::vector<json>>();
  }
  int64_t last_outbox_id() { return count("SELECT coalesce(max(id), 0) FROM outbox"); }

  std::array<unsigned char, 32> key{};
  vpn::SecretBox box{key};
  std::unique_ptr<db::Pool> pool;
  std::unique_ptr<bot::Bot> the_bot;
  int64_t next_update_id = 0;
};

}  // namespace vpnbot::testing
