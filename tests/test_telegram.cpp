// Telegram layer against a real PostgreSQL and the Bot API emulator: ingestion, sender, referrals, and the
// real binary end to end (webhook flow, 3 worker processes, polling failover).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <iostream>
#include <map>
#include <thread>

#include "bot/bot.hpp"
#include "bot/routes.hpp"
#include "bot/users.hpp"
#include "http/client.hpp"
#include "http/server.hpp"
#include "support/emulator_thread.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"
#include "telegram/dispatcher.hpp"
#include "telegram/ingest.hpp"
#include "telegram/outbox.hpp"
#include "vpn/client_config.hpp"
#include "vpn/store.hpp"

using namespace vpnbot;
namespace route = vpnbot::bot::route;
using nlohmann::json;
using vpnbot::testing::AsyncDbTest;
using vpnbot::testing::EmulatorThread;

namespace {

constexpr const char* kSecret = "test-secret_123";

json text_update(int64_t update_id, int64_t user_id, const std::string& text) {
  return {{"update_id", update_id},
          {"message",
           {{"message_id", update_id},
            {"date", 1700000000},
            {"chat", {{"id", user_id}, {"type", "private"}}},
            {"from", {{"id", user_id}, {"is_bot", false}, {"first_name", "U" + std::to_string(user_id)}}},
            {"text", text}}}};
}

}  // namespace

class TelegramTest : public AsyncDbTest {
 protected:
  // Polls a condition (with a deadline) while the test's io_context keeps running.
  bool eventually(const std::function<bool()>& condition, Millis timeout = Millis(30000)) {
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      if (condition()) return true;
      run(sleep_for(Millis(100)));
    }
    return condition();
  }
  // The messages the bot sent into a chat, oldest first.
  static json from_bot(EmulatorThread& emulator, int64_t chat) {
    json out = json::array();
    for (const auto& m : emulator.messages(chat))
      if (m["from_bot"].get<bool>()) out.push_back(m);
    return out;
  }
  std::map<std::string, std::string> serve_env(const EmulatorThread& emulator, uint16_t port) {
    return {{"VPNBOT_DATABASE_URL", url},
            {"VPNBOT_HTTP_LISTEN", "127.0.0.1:" + std::to_string(port)},
            {"VPNBOT_TELEGRAM_MODE", "webhook"},
            {"VPNBOT_TELEGRAM_API_URL", emulator.base_url()},
            {"VPNBOT_TELEGRAM_TOKEN", emulator.token()},
            {"VPNBOT_TELEGRAM_WEBHOOK_SECRET", kSecret},
            {"VPNBOT_PUBLIC_URL", "http://127.0.0.1:" + std::to_string(port)},
            {"VPNBOT_JOB_POLL_INTERVAL_MS", "200"},
            {"VPNBOT_LEASE_TTL_MS", "3000"},
            {"VPNBOT_LOG_LEVEL", "info"},
            {"VPNBOT_MASTER_KEY_FILE", vpnbot::testing::test_master_key_file()}};
  }
};

TEST_F(TelegramTest, WebhookRejectsBadSecretStoresOnceAndKeepsMalformed) {
  auto pool = make_pool();
  http::Router router;
  telegram::IngestStats stats;
  telegram::InboxWriter writer(io.get_executor(), *pool);
  telegram::add_webhook_route(router, *pool, writer, kSecret, stats);
  http::Server server(io.get_executor(), http::ServerOptions{{"127.0.0.1", 0}}, router);
  server.start();
  http::Client client(io.get_executor(), {});
  auto post = [&](const std::string& body, std::optional<std::string> secret) {
    http::ClientRequest r;
    r.method = "POST";
    r.url = "http://127.0.0.1:" + std::to_string(server.port()) + telegram::kWebhookPath;
    r.body = body;
    r.headers = {{"Content-Type", "application/json"}};
    if (secret) r.headers.push_back({"X-Telegram-Bot-Api-Secret-Token", *secret});
    return run(client.send(std::move(r))).status;
  };
  std::string update = text_update(77, 5, "/start").dump();
  EXPECT_EQ(post(update, std::nullopt), 401);
  EXPECT_EQ(post(update, "wrong"), 403);
  EXPECT_EQ(post(update, std::string(kSecret) + "x"), 403);
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox"), 0) << "nothing stored without the right secret";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(post(update, kSecret), 200);
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE update_id = 77"), 1);
  EXPECT_EQ(stats.stored, 1u);
  EXPECT_EQ(stats.duplicates, 4u);
  EXPECT_EQ(post("{not json", kSecret), 200);
  EXPECT_EQ(post(R"({"update_id": 78})", kSecret), 200);
  EXPECT_EQ(count("SELECT count(*) FROM tg_malformed WHERE source = 'webhook'"), 2) << "kept for the operator";
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox"), 1);
  // Valid JSON that PostgreSQL refuses (\u0000 in a string), sent together with good updates: the poisoned one is
  // kept as malformed and acknowledged, the others are stored.
  std::vector<std::thread> senders;
  std::vector<long> statuses(6, 0);
  for (int i = 0; i < 6; ++i)
    senders.emplace_back([&, i] {
      std::string body = i == 3 ? R"({"update_id": 500, "message": {"chat": {"id": 9}, "text": "a\u0000b"}})"
                                : text_update(400 + i, 9, "fine").dump();
      statuses[i] = vpnbot::testing::http_request(
                        "POST", "http://127.0.0.1:" + std::to_string(server.port()) + telegram::kWebhookPath, body,
                        {"Content-Type: application/json", std::string("X-Telegram-Bot-Api-Secret-Token: ") + kSecret})
                        .first;
    });
  // The server runs on this thread's io_context: keep it running until every sender has its answer.
  run([&]() -> awaitable<void> {
    for (int i = 0; i < 300 && std::count(statuses.begin(), statuses.end(), 0L) > 0; ++i)
      co_await sleep_for(Millis(50));
  }());
  for (auto& t : senders) t.join();
  EXPECT_EQ(statuses, std::vector<long>(6, 200));
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE update_id BETWEEN 400 AND 405"), 5);
  EXPECT_EQ(count("SELECT count(*) FROM tg_malformed WHERE source = 'webhook'"), 3);
  run(server.shutdown(Millis(1000)));
}

TEST_F(TelegramTest, SenderHonours429And403AndNeverExceedsChatLimits) {
  EmulatorThread emulator;
  auto pool = make_pool();
  std::vector<int64_t> chats{101, 102, 103};
  for (auto chat : chats) {
    emulator.client("/client/send_message", {{"user_id", chat}, {"text", "hi"}});
    vpnbot::testing::exec_sync(url, "INSERT INTO users (id, referral_code) VALUES (" + std::to_string(chat) + ", 'c" +
                                        std::to_string(chat) + "')");
  }
  emulator.client("/client/send_message", {{"user_id", 104}, {"text", "hi"}});
  emulator.client("/client/block", {{"user_id", 104}, {"blocked", true}});
  vpnbot::testing::exec_sync(url, "INSERT INTO users (id, referral_code) VALUES (104, 'c104')");
  // The first send is answered 429 retry_after=1: the sender must wait, then deliver everything.
  emulator.client("/client/fail", {{"method", "sendMessage"},
                                   {"error_code", 429},
                                   {"description", "Too Many Requests: retry after 1"},
                                   {"retry_after", 1}});
  telegram::Outbox outbox(*pool);
  for (int i = 0; i < 4; ++i)
    for (auto chat : chats) {
      telegram::OutMessage m;
      m.chat_id = chat;
      m.payload = {{"text", "m" + std::to_string(i)}};
      run(outbox.enqueue(m));
    }
  telegram::OutMessage to_blocked;
  to_blocked.chat_id = 104;
  to_blocked.payload = {{"text", "are you there?"}};
  run(outbox.enqueue(to_blocked));
  // A unique key makes a second enqueue a no-op.
  telegram::OutMessage once;
  once.chat_id = 101;
  once.payload = {{"text", "once"}};
  once.unique_key = "test:once";
  EXPECT_TRUE(run(outbox.enqueue(once)).has_value());
  EXPECT_FALSE(run(outbox.enqueue(once)).has_value());

  http::Client client(io.get_executor(), {});
  telegram::BotApi api(client, emulator.base_url(), emulator.token());
  telegram::SenderOptions options;
  options.owner = "sender-test";
  options.poll_interval = Millis(100);
  telegram::Sender sender(io.get_executor(), *pool, api, options);
  sender.start();
  EXPECT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')") == 0; }, Millis(60000)));
  run(sender.stop(Clock::now() + Millis(5000)));

  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'sent'"), 13);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'blocked' AND chat_id = 104"), 1);
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT reachable FROM users WHERE id = 104"), "f");
  EXPECT_GE(sender.stats().rate_limited, 1u);
  auto stats = emulator.stats();
  EXPECT_EQ(stats["per_chat_violations"], 0) << stats.dump();
  EXPECT_EQ(stats["global_violations"], 0) << stats.dump();
  for (auto chat : chats) {
    std::vector<std::string> texts;
    for (const auto& m : emulator.messages(chat))
      if (m["from_bot"].get<bool>()) texts.push_back(m["text"]);
    std::vector<std::string> expected{"m0", "m1", "m2", "m3"};
    if (chat == 101) expected.push_back("once");
    EXPECT_EQ(texts, expected) << "chat " << chat << ": each message once, in order";
  }
}

TEST_F(TelegramTest, ReferralIsRecordedOnceNeverSelfNeverCyclic) {
  auto pool = make_pool();
  auto in_tx = [&](auto body) { return run(pool->transaction(body)); };
  auto touch = [&](int64_t id) {
    return in_tx([id](db::Transaction& tx) -> awaitable<bot::User> {
      json from{{"id", id}, {"first_name", "U"}, {"language_code", id % 2 ? "ru" : "en"}};
      co_return co_await bot::Users::touch(tx, from);
    });
  };
  auto start = [&](int64_t id, std::string code) {
    return in_tx([id, code](db::Transaction& tx) -> awaitable<std::optional<int64_t>> {
      co_return co_await bot::Users::record_start(tx, id, code);
    });
  };
  auto alice = touch(1);
  EXPECT_TRUE(alice.created);
  EXPECT_EQ(alice.language, "ru");
  EXPECT_FALSE(touch(1).created);
  auto bob = touch(2);
  EXPECT_EQ(start(1, alice.referral_code), std::nullopt) << "never self";
  EXPECT_EQ(start(2, "nosuchcode"), std::nullopt);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE referrer_id IS NOT NULL"), 0);
  auto carol = touch(3);
  EXPECT_EQ(start(3, bob.referral_code), 2);
  EXPECT_EQ(start(3, alice.referral_code), std::nullopt) << "never changed later";
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT referrer_id FROM users WHERE id = 3"), "2");
  // Dave exists before Erin; Erin cannot become Dave's referrer even if Dave never started: no cycles.
  auto dave = touch(4);
  auto erin = touch(5);
  EXPECT_EQ(start(5, dave.referral_code), 4);
  EXPECT_EQ(start(4, erin.referral_code), std::nullopt);
  (void)carol;
}

// The Bot API's URL holds the token (/bot<token>/): when Telegram refuses the connection or never answers, no log
// line, no outbox error and no other column shows it.
TEST_F(TelegramTest, TheBotTokenIsInNoLogLineAndNoColumnWhenTheApiRefusesOrNeverAnswers) {
  const std::string token = "424242:LEAK-CHECK-7f3a9c";
  // A listener that never accepts: the kernel completes connections, nobody answers.
  int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(silent, 64), 0);
  socklen_t length = sizeof address;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&address), &length);
  const std::vector<std::pair<std::string, std::string>> apis{
      {"never answers", "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port))},
      {"refuses", "http://127.0.0.1:" + std::to_string(vpnbot::testing::free_port())}};
  vpnbot::testing::exec_sync(url, "INSERT INTO users (id, referral_code) VALUES (1001, 'leak')");
  EmulatorThread unused;
  for (const auto& [what, api] : apis) {
    vpnbot::testing::exec_sync(url,
                               "INSERT INTO outbox (chat_id, method, payload) VALUES (1001, 'sendMessage', "
                               "'{\"chat_id\": 1001, \"text\": \"hello\"}')");
    auto env = serve_env(unused, vpnbot::testing::free_port());
    env["VPNBOT_TELEGRAM_API_URL"] = api;
    env["VPNBOT_TELEGRAM_TOKEN"] = token;
    env["VPNBOT_TELEGRAM_SEND_TIMEOUT_MS"] = "1000";
    auto serve = vpnbot::testing::spawn_vpnbot({"serve"}, env);
    ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM outbox WHERE last_error LIKE '%127.0.0.1%'") > 0; },
                           Millis(30000)))
        << what << ": the send failed and says where it went\n"
        << serve.output().substr(0, 3000);
    serve.signal(SIGTERM);
    serve.wait(Millis(30000));
    std::string output = serve.output();
    EXPECT_NE(output.find("127.0.0.1"), std::string::npos) << what << ": the failures were logged";
    EXPECT_EQ(output.find("LEAK-CHECK"), std::string::npos) << what << ":\n" << output.substr(0, 4000);
    EXPECT_EQ(vpnbot::testing::columns_containing(url, "LEAK-CHECK"), "") << what;
    vpnbot::testing::exec_sync(url, "DELETE FROM outbox");
  }
  ::close(silent);
}

// One user floods 2000 updates of every kind (commands, text, button presses) while 50 others start the bot: the
// others are answered within 2 s each (p99 of 50 is their slowest), the flooder gets exactly one "too many
// requests" notice, and what the flood costs (outbox rows, budget rows) stays bounded by the budget, not the flood.
TEST_F(TelegramTest, AFloodingUserGetsOneNoticeCostsBoundedRowsAndSlowsNobodyElse) {
  EmulatorThread emulator;
  uint16_t port = vpnbot::testing::free_port();
  // A budget of 20 updates a minute: what it lets through still goes out at Telegram's 1 message/s per chat.
  constexpr int kBudget = 20;
  auto env = serve_env(emulator, port);
  env["VPNBOT_BUDGET_UPDATES_PER_MINUTE"] = std::to_string(kBudget);
  auto serve = vpnbot::testing::spawn_vpnbot({"serve"}, env);
  ASSERT_TRUE(eventually([&] { return emulator.stats()["webhook_url"] != ""; })) << serve.output();
  auto answers = [&](int64_t chat) { return from_bot(emulator, chat); };
  constexpr int64_t kFlooder = 7000;
  emulator.client("/client/send_message", {{"user_id", kFlooder}, {"text", "/start"}, {"first_name", "Flood"}});
  ASSERT_TRUE(eventually([&] { return !answers(kFlooder).empty(); })) << serve.output().substr(0, 3000);
  int64_t menu = answers(kFlooder)[0]["message_id"];
  std::thread flood([&] {
    for (int i = 0; i < 2000; ++i) {
      switch (i % 4) {
        case 0:
          emulator.client("/client/send_message", {{"user_id", kFlooder}, {"text", "/start"}});
          break;
        case 1:
          emulator.client("/client/send_message", {{"user_id", kFlooder}, {"text", "hello " + std::to_string(i)}});
          break;
        default:
          emulator.client(
              "/client/press",
              {{"user_id", kFlooder}, {"message_id", menu}, {"data", route::screen(i % 4 == 2 ? "sub" : "ref")}});
      }
    }
  });
  std::map<int64_t, Clock::time_point> asked;
  std::map<int64_t, Millis> took;
  for (int64_t user = 7100; user < 7150; ++user) {
    emulator.client("/client/send_message", {{"user_id", user}, {"text", "/start"}, {"first_name", "Other"}});
    asked[user] = Clock::now();
    for (auto& [waiting, since] : asked)
      if (!took.count(waiting) && !answers(waiting).empty())
        took[waiting] = std::chrono::duration_cast<Millis>(Clock::now() - since);
  }
  ASSERT_TRUE(eventually([&] {
    for (auto& [waiting, since] : asked)
      if (!took.count(waiting) && !answers(waiting).empty())
        took[waiting] = std::chrono::duration_cast<Millis>(Clock::now() - since);
    return took.size() == asked.size();
  })) << serve.output().substr(0, 3000);
  flood.join();
  Millis slowest{0};
  for (auto& [user, latency] : took) slowest = std::max(slowest, latency);
  std::cout << "50 users answered during a 2000-update flood; slowest " << slowest.count() << " ms\n";
  EXPECT_LT(slowest, Millis(2000));
  // Every flood update handled (the positive event), then the flooder's answers are counted.
  ASSERT_TRUE(eventually(
      [&] {
        return count("SELECT count(*) FROM tg_inbox WHERE chat_id = " + std::to_string(kFlooder) +
                     " AND state IN ('pending', 'running')") == 0 &&
               count("SELECT count(*) FROM tg_inbox WHERE chat_id = " + std::to_string(kFlooder)) == 2001;
      },
      Millis(60000)));
  ASSERT_TRUE(eventually(
      [&] {
        return count("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending') AND chat_id = " +
                     std::to_string(kFlooder)) == 0;
      },
      Millis(90000)));
  int notices = 0;
  for (const auto& m : answers(kFlooder)) notices += m.value("text", "").find("Too many requests") != std::string::npos;
  json pressed = emulator.client("/client/callback_answers?user_id=" + std::to_string(kFlooder));
  for (const auto& a : pressed["answers"])
    notices += a.value("text", "").find("Too many requests") != std::string::npos;
  EXPECT_EQ(notices, 1)
      << vpnbot::testing::query_value_sync(
             url,
             "SELECT string_agg(state || ' ' || method || ' ' || coalesce(payload->>'text', ''), E'\\n' "
             "ORDER BY id) FROM outbox WHERE chat_id = " +
                 std::to_string(kFlooder))
      << "\nbudgets: "
      << vpnbot::testing::query_value_sync(
             url, "SELECT string_agg(kind || '=' || used, ', ') FROM user_budgets WHERE user_id = " +
                      std::to_string(kFlooder));
  auto outbox_rows = count("SELECT count(*) FROM outbox WHERE chat_id = " + std::to_string(kFlooder));
  std::cout << "the flooder's 2001 updates left " << outbox_rows << " outbox rows\n";
  EXPECT_LE(outbox_rows, 2 * kBudget + 2) << "at most two answers (a callback answer and an edit) per update in budget";
  EXPECT_LE(count("SELECT count(*) FROM user_budgets WHERE user_id = " + std::to_string(kFlooder)), 5);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(20000)), 0);
}

TEST_F(TelegramTest, EndToEndWebhookFlowWithTheRealBinary) {
  EmulatorThread emulator;
  uint16_t port = vpnbot::testing::free_port();
  auto serve = vpnbot::testing::spawn_vpnbot({"serve"}, serve_env(emulator, port));
  ASSERT_TRUE(eventually([&] { return emulator.stats()["webhook_url"] != ""; })) << serve.output();

  // The sandbox's web chat page is served by the emulator (self-contained: no external assets).
  auto [page_status, page] = vpnbot::testing::http_request("GET", emulator.base_url() + "/", "");
  EXPECT_EQ(page_status, 200);
  EXPECT_NE(page.find("/client/send_message"), std::string::npos);
  EXPECT_EQ(page.find("http://"), std::string::npos) << "nothing loaded from outside";

  auto bot_messages = [&](int64_t chat) { return from_bot(emulator, chat); };
  emulator.client("/client/send_message",
                  {{"user_id", 1001}, {"text", "/start"}, {"first_name", "Ann"}, {"language_code", "en"}});
  ASSERT_TRUE(eventually([&] { return bot_messages(1001).size() >= 1; })) << serve.output();
  auto first = bot_messages(1001);
  ASSERT_EQ(first.size(), 1u) << "welcome and menu are one message: " << first.dump();
  auto menu = first[0];
  EXPECT_NE(menu["text"].get<std::string>().find("Hi, Ann!"), std::string::npos) << first.dump();
  EXPECT_NE(menu["text"].get<std::string>().find("Main menu"), std::string::npos) << first.dump();
  ASSERT_TRUE(menu.contains("reply_markup")) << menu.dump();
  EXPECT_EQ(menu["reply_markup"]["inline_keyboard"].size(), 5u);

  // A button edits the menu in place.
  emulator.client("/client/press",
                  {{"user_id", 1001}, {"message_id", menu["message_id"]}, {"data", route::screen("ref")}});
  ASSERT_TRUE(eventually([&] {
    auto msgs = bot_messages(1001);
    return msgs.size() == 1 && msgs[0]["edited"].get<bool>();
  })) << serve.output();
  auto referral_screen = bot_messages(1001)[0]["text"].get<std::string>();
  EXPECT_NE(referral_screen.find("?start=ref_"), std::string::npos) << referral_screen;
  EXPECT_NE(referral_screen.find("0 friends"), std::string::npos) << referral_screen;

  // A button from an old version of the bot: a friendly answer and a fresh menu, not a crash.
  emulator.client("/client/press", {{"user_id", 1001}, {"message_id", menu["message_id"]}, {"data", "buy_plan_3"}});
  ASSERT_TRUE(eventually([&] { return bot_messages(1001).size() == 2; })) << serve.output();

  // A friend joins by the link: the referrer is recorded and notified.
  std::string code = bot::referral_code_for(1001);
  emulator.client(
      "/client/send_message",
      {{"user_id", 1002}, {"text", "/start ref_" + code}, {"first_name", "Boris"}, {"language_code", "ru"}});
  ASSERT_TRUE(eventually([&] { return bot_messages(1002).size() >= 1 && bot_messages(1001).size() == 3; }))
      << serve.output();
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT referrer_id FROM users WHERE id = 1002"), "1001");
  EXPECT_NE(bot_messages(1002)[0]["text"].get<std::string>().find("Привет, Boris!"), std::string::npos);
  EXPECT_NE(bot_messages(1001)[2]["text"].get<std::string>().find("Boris"), std::string::npos);

  // My configs: listed with location and state; a button delivers the .conf and its QR code again.
  auto box = vpn::SecretBox::from_file(vpnbot::testing::test_master_key_file(), false);
  auto pool = make_pool();
  vpn::VpnStore store(*pool, box);
  vpn::NodeSpec spec{"nl-1", "NL", "Amsterdam", "198.51.100.7", 51820, "wg0", "10.8.0.0/24"};
  run(store.add_node(spec));
  auto peer = run(store.provision(1001, std::nullopt, "e2e:1001", 3));
  emulator.client("/client/press",
                  {{"user_id", 1001}, {"message_id", menu["message_id"]}, {"data", route::screen("cfg")}});
  ASSERT_TRUE(eventually([&] {
    return bot_messages(1001)[0]["text"].get<std::string>().find("Amsterdam #" + std::to_string(peer.id)) !=
           std::string::npos;
  })) << bot_messages(1001).dump();
  auto before_get = bot_messages(1001).size();
  emulator.client("/client/press",
                  {{"user_id", 1001}, {"message_id", menu["message_id"]}, {"data", route::config("get", peer.id)}});
  ASSERT_TRUE(eventually([&] { return bot_messages(1001).size() == before_get + 2; })) << serve.output();
  auto delivered = bot_messages(1001);
  auto document = delivered[before_get];
  ASSERT_TRUE(document.contains("document")) << document.dump();
  EXPECT_TRUE(delivered[before_get + 1].contains("photo"));
  auto [status, conf] = vpnbot::testing::http_request("GET",
                                                      emulator.base_url() + "/client/file?chat_id=1001&message_id=" +
                                                          std::to_string(document["message_id"].get<int64_t>()),
                                                      "");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(conf, vpn::render_client_config(run(store.client_config(peer.id)))) << "the user's exact config";
  // Another user's config id in a forged callback delivers nothing.
  emulator.client("/client/press", {{"user_id", 1002},
                                    {"message_id", bot_messages(1002)[0]["message_id"]},
                                    {"data", route::config("get", peer.id)}});
  run(sleep_for(Millis(1500)));
  for (const auto& m : bot_messages(1002)) EXPECT_FALSE(m.contains("document")) << "never someone else's config";
  // New keys on request: asked first, then the new config arrives and the old one is dead.
  auto before_rekey = bot_messages(1001).size();
  emulator.client("/client/press",
                  {{"user_id", 1001}, {"message_id", menu["message_id"]}, {"data", route::config("rk", peer.id)}});
  ASSERT_TRUE(
      eventually([&] { return bot_messages(1001)[0].value("text", "").find("New keys") != std::string::npos; }));
  emulator.client("/client/press",
                  {{"user_id", 1001}, {"message_id", menu["message_id"]}, {"data", route::config("rky", peer.id)}});
  ASSERT_TRUE(eventually([&] { return bot_messages(1001).size() == before_rekey + 2; })) << serve.output();
  auto new_conf = vpn::render_client_config(run(store.client_config(peer.id)));
  EXPECT_NE(new_conf, conf);
  auto rekeyed = bot_messages(1001)[before_rekey];
  EXPECT_EQ(vpnbot::testing::http_request("GET",
                                          emulator.base_url() + "/client/file?chat_id=1001&message_id=" +
                                              std::to_string(rekeyed["message_id"].get<int64_t>()),
                                          "")
                .second,
            new_conf);

  // Language switch: the menu is re-rendered in Russian in place.
  auto menu_id = bot_messages(1001)[0]["message_id"];
  emulator.client("/client/press", {{"user_id", 1001}, {"message_id", menu_id}, {"data", route::language("ru")}});
  ASSERT_TRUE(eventually([&] {
    return bot_messages(1001)[0].value("text", "").find("Главное меню") != std::string::npos;
  })) << serve.output();
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT language FROM users WHERE id = 1001"), "ru");
  // A prompt keeps per-user state in the database: the next text is read as a promo code.
  emulator.client("/client/press", {{"user_id", 1001}, {"message_id", menu_id}, {"data", route::screen("promo")}});
  ASSERT_TRUE(eventually([&] {
    return vpnbot::testing::query_value_sync(url, "SELECT conversation->>'await' FROM users WHERE id = 1001") ==
           "promo_code";
  }));
  emulator.client("/client/send_message", {{"user_id", 1001}, {"text", "SALE<50>"}});
  ASSERT_TRUE(eventually([&] {
    auto msgs = bot_messages(1001);
    return msgs.back().value("text", "").find("SALE&lt;50&gt;") != std::string::npos;
  })) << bot_messages(1001).dump();
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT conversation IS NULL FROM users WHERE id = 1001"), "t");
  // A banned user gets a short notice and nothing else.
  vpnbot::testing::exec_sync(url, "UPDATE users SET banned = true WHERE id = 1001");
  auto before = bot_messages(1001).size();
  emulator.client("/client/send_message", {{"user_id", 1001}, {"text", "/start"}});
  ASSERT_TRUE(eventually([&] { return bot_messages(1001).size() == before + 1; }));
  run(sleep_for(Millis(1500)));
  auto after = bot_messages(1001);
  EXPECT_EQ(after.size(), before + 1) << "only the notice";
  EXPECT_EQ(after.back()["text"], bot::Catalog::embedded().text("ru", "banned.notice"));

  // An update of the wrong shape is kept and skipped, never retried into an apology loop.
  auto odd = emulator.client("/client/raw_update",
                             {{"message", {{"chat", {{"id", 1003}, {"type", "private"}}}, {"from", {{"id", "x"}}}}}});
  ASSERT_TRUE(eventually([&] {
    return vpnbot::testing::query_value_sync(url, "SELECT state FROM tg_inbox WHERE update_id = " +
                                                      std::to_string(odd["update_id"].get<int64_t>())) == "skipped";
  })) << serve.output();

  // Blocking the bot is tracked from my_chat_member.
  emulator.client("/client/block", {{"user_id", 1002}, {"blocked", true}});
  ASSERT_TRUE(eventually(
      [&] { return vpnbot::testing::query_value_sync(url, "SELECT reachable FROM users WHERE id = 1002") == "f"; }));
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE state NOT IN ('done', 'skipped')"), 0);
  EXPECT_EQ(emulator.stats()["per_chat_violations"], 0);

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(20000)), 0) << serve.output();
}

TEST_F(TelegramTest, ThousandUpdatesFiftyChatsThreeWorkerProcessesInOrderOnce) {
  EmulatorThread emulator;
  uint16_t port = vpnbot::testing::free_port();
  auto env = serve_env(emulator, port);
  auto gateway_env = env;
  gateway_env["VPNBOT_ROLES"] = "gateway";
  auto gateway = vpnbot::testing::spawn_vpnbot({"serve"}, gateway_env);
  std::vector<vpnbot::testing::Process> workers;
  for (int i = 0; i < 3; ++i) {
    auto worker_env = env;
    worker_env["VPNBOT_ROLES"] = "worker";
    worker_env["VPNBOT_HTTP_LISTEN"] = "127.0.0.1:0";
    worker_env["VPNBOT_INSTANCE_ID"] = "worker-" + std::to_string(i);
    workers.push_back(vpnbot::testing::spawn_vpnbot({"serve"}, worker_env));
  }
  std::string webhook = "http://127.0.0.1:" + std::to_string(port) + telegram::kWebhookPath;
  ASSERT_TRUE(eventually([&] {
    return vpnbot::testing::http_request("GET", "http://127.0.0.1:" + std::to_string(port) + "/healthz", "").first ==
           200;
  })) << gateway.output();
  std::vector<std::string> headers{"Content-Type: application/json",
                                   std::string("X-Telegram-Bot-Api-Secret-Token: ") + kSecret};
  for (int i = 1; i <= 1000; ++i) {
    auto body = text_update(i, 5000 + i % 50, "text " + std::to_string(i)).dump();
    ASSERT_EQ(vpnbot::testing::http_request("POST", webhook, body, headers).first, 200);
    if (i % 10 == 0) ASSERT_EQ(vpnbot::testing::http_request("POST", webhook, body, headers).first, 200);  // redelivery
  }
  EXPECT_TRUE(
      eventually([&] { return count("SELECT count(*) FROM tg_inbox WHERE state = 'done'") == 1000; }, Millis(120000)))
      << count("SELECT count(*) FROM tg_inbox WHERE state = 'done'") << " done\n"
      << workers[0].output();
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox"), 1000);
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE attempts <> 1"), 0) << "each update handled exactly once";
  // In each chat, updates finished in update_id order (each began only after the previous one committed).
  EXPECT_EQ(count("SELECT count(*) FROM (SELECT update_id, finished_at, lag(finished_at) OVER "
                  "(PARTITION BY chat_id ORDER BY update_id) AS prev FROM tg_inbox) t WHERE prev >= finished_at"),
            0);
  EXPECT_EQ(count("SELECT count(DISTINCT locked_by) FROM tg_inbox") + 0, 0) << "locks released";
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE method = 'sendMessage'"), 1000) << "one reply per update";
  EXPECT_EQ(count("SELECT count(*) FROM users"), 50);
  gateway.signal(SIGTERM);
  for (auto& w : workers) w.signal(SIGTERM);
  EXPECT_EQ(gateway.wait(Millis(20000)), 0);
  for (auto& w : workers) EXPECT_EQ(w.wait(Millis(20000)), 0) << w.output();
}

TEST_F(TelegramTest, PollingHasOnePollerAndFailsOverWithoutLossOrDuplicates) {
  EmulatorThread emulator;
  std::vector<vpnbot::testing::Process> pollers;
  for (int i = 0; i < 2; ++i) {
    pollers.push_back(
        vpnbot::testing::spawn_vpnbot({"serve"}, {{"VPNBOT_DATABASE_URL", url},
                                                  {"VPNBOT_HTTP_LISTEN", "127.0.0.1:0"},
                                                  {"VPNBOT_ROLES", "gateway"},
                                                  {"VPNBOT_TELEGRAM_MODE", "polling"},
                                                  {"VPNBOT_TELEGRAM_API_URL", emulator.base_url()},
                                                  {"VPNBOT_TELEGRAM_TOKEN", emulator.token()},
                                                  {"VPNBOT_TELEGRAM_POLL_TIMEOUT_S", "1"},
                                                  {"VPNBOT_LEASE_TTL_MS", "2000"},
                                                  {"VPNBOT_INSTANCE_ID", "poller-" + std::to_string(i)}}));
  }
  auto send = [&](int from, int to) {
    for (int i = from; i < to; ++i)
      emulator.client("/client/send_message", {{"user_id", 7000 + i % 5}, {"text", "m" + std::to_string(i)}});
  };
  send(0, 30);
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM tg_inbox") == 30; })) << pollers[0].output();
  std::string leader = vpnbot::testing::query_value_sync(url, "SELECT owner FROM leases WHERE key = 'telegram-poller'");
  int leader_index = leader == "poller-0" ? 0 : 1;
  ASSERT_TRUE(leader == "poller-0" || leader == "poller-1") << leader;
  pollers[leader_index].signal(SIGKILL);
  pollers[leader_index].wait(Millis(5000));
  send(30, 60);
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM tg_inbox") == 60; }))
      << pollers[1 - leader_index].output();
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT owner FROM leases WHERE key = 'telegram-poller'"),
            "poller-" + std::to_string(1 - leader_index));
  EXPECT_EQ(count("SELECT max(update_id) - min(update_id) + 1 FROM tg_inbox"), 60) << "no gaps";
  ASSERT_TRUE(eventually([&] { return emulator.stats()["pending_updates"] == 0; })) << "offset confirmed";
  // An update PostgreSQL refuses (\u0000 in a string) is kept as malformed; the poller moves past it.
  emulator.client("/client/raw_update", {{"message", {{"chat", {{"id", 7001}}}, {"text", std::string("a\0b", 3)}}}});
  send(60, 61);
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM tg_inbox") == 61; }));
  EXPECT_EQ(count("SELECT count(*) FROM tg_malformed WHERE source = 'polling'"), 1);
  EXPECT_GT(emulator.stats()["calls"].value("getUpdates", 0), 0);
  pollers[1 - leader_index].signal(SIGTERM);
  EXPECT_EQ(pollers[1 - leader_index].wait(Millis(20000)), 0);
}

TEST_F(TelegramTest, FailingHandlerRetriesBoundedThenApologisesOnceAndMalformedIsSkipped) {
  auto pool = make_pool();
  telegram::Inbox inbox(*pool);
  run(inbox.store(text_update(1, 42, "boom")));
  run(inbox.store(text_update(2, 42, "after the failure")));
  run(inbox.store(json{{"update_id", 3}, {"poll", {{"id", "p"}}}}));  // no chat: handled without order, skipped
  vpnbot::testing::exec_sync(url, "INSERT INTO users (id, language, referral_code) VALUES (42, 'ru', 'x42')");
  std::vector<int64_t> handled;
  int apologies = 0;
  bot::Bot the_bot(bot::BotOptions{"b", {}}, bot::Catalog::embedded());
  telegram::Dispatcher dispatcher(
      io.get_executor(), *pool,
      [&](db::Transaction& tx, const telegram::InboxUpdate& u) -> awaitable<void> {
        if (u.kind == "poll") throw telegram::SkipUpdate("polls are not handled");
        if (u.payload["message"]["text"] == "boom") throw std::runtime_error("handler bug");
        handled.push_back(u.update_id);
        co_return;
      },
      [&](const telegram::InboxUpdate& u) -> awaitable<void> {
        ++apologies;
        co_await the_bot.apologise(*pool, u);
      },
      telegram::DispatcherOptions{"d", 4, Millis(30000), Millis(50), 3});
  dispatcher.start();
  // Backoff is 1 s then 2 s between the three attempts.
  EXPECT_TRUE(eventually([&] { return handled.size() == 1; }, Millis(20000)));
  run(dispatcher.stop(Clock::now() + Millis(1000)));
  EXPECT_EQ(handled, std::vector<int64_t>{2}) << "the chat moves on after its failed update, in order";
  EXPECT_EQ(apologies, 1);
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT state || ':' || attempts FROM tg_inbox WHERE update_id = 1"),
            "failed:3");
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT state FROM tg_inbox WHERE update_id = 3"), "skipped");
  EXPECT_EQ(
      vpnbot::testing::query_value_sync(url, "SELECT payload->>'text' FROM outbox WHERE unique_key = 'apology:1'"),
      bot::Catalog::embedded().text("ru", "error.try_again"));
  run(the_bot.apologise(*pool, telegram::InboxUpdate{1, 42, "message", {}, 3}));
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE unique_key LIKE 'apology:%'"), 1) << "never twice";
}

TEST_F(TelegramTest, SenderUploadsFilesAndRepliesGoAheadOfBulk) {
  EmulatorThread emulator;
  auto pool = make_pool();
  for (int64_t chat = 201; chat <= 203; ++chat)
    emulator.client("/client/send_message", {{"user_id", chat}, {"text", "hi"}});
  telegram::Outbox outbox(*pool);
  for (int64_t chat = 201; chat <= 203; ++chat) {
    telegram::OutMessage bulk;
    bulk.chat_id = chat;
    bulk.priority = telegram::kPriorityBulk;
    bulk.payload = {{"text", "bulk"}};
    run(outbox.enqueue(bulk));
  }
  telegram::OutMessage reply;
  reply.chat_id = 203;
  reply.payload = {{"text", "reply"}};
  run(outbox.enqueue(reply));
  telegram::OutMessage document;
  document.chat_id = 201;
  document.method = "sendDocument";
  document.payload = {{"caption", "your config"}};
  std::string conf = "[Interface]\nPrivateKey = abc\n\0binary-safe\n";
  document.files.push_back({"document", "vpn.conf", "text/plain", conf});
  run(outbox.enqueue(document));
  // An edit Telegram refuses (the message is gone) goes out as its fallback, ahead of the chat's later messages;
  // without a fallback it fails.
  telegram::OutMessage link;
  link.chat_id = 202;
  link.method = "editMessageText";
  link.payload = {{"message_id", 999999}, {"text", "pay here"}};
  link.fallback = {{"method", "sendMessage"}, {"payload", {{"text", "pay here"}}}};
  run(outbox.enqueue(link));
  telegram::OutMessage lost = link;
  lost.fallback = nullptr;
  run(outbox.enqueue(lost));
  // A row due later (as when it is retried) keeps a later, lower-priority row of its chat behind it.
  emulator.client("/client/send_message", {{"user_id", 204}, {"text", "hi"}});
  telegram::OutMessage first;
  first.chat_id = 204;
  first.payload = {{"text", "first"}};
  run(outbox.enqueue(first));
  vpnbot::testing::exec_sync(
      url, "UPDATE outbox SET not_before = now() + interval '1 second' WHERE payload->>'text' = 'first'");
  telegram::OutMessage second;
  second.chat_id = 204;
  second.priority = telegram::kPriorityNotice;
  second.payload = {{"text", "second"}};
  run(outbox.enqueue(second));
  http::Client client(io.get_executor(), {});
  telegram::BotApi api(client, emulator.base_url(), emulator.token());
  telegram::SenderOptions options;
  options.owner = "s";
  options.poll_interval = Millis(100);
  telegram::Sender sender(io.get_executor(), *pool, api, options);
  sender.start();
  EXPECT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM outbox WHERE state = 'sent'") == 8 &&
           count("SELECT count(*) FROM outbox WHERE state = 'failed'") == 1;
  }));
  run(sender.stop(Clock::now() + Millis(5000)));
  auto texts = [&](int64_t chat) {
    std::vector<std::string> out;
    for (const auto& m : emulator.messages(chat))
      if (m["from_bot"].get<bool>())
        out.push_back(m.contains("document") ? "doc:" + m["caption"].get<std::string>() : m["text"].get<std::string>());
    return out;
  };
  EXPECT_EQ(texts(203), (std::vector<std::string>{"reply", "bulk"})) << "the user's reply overtakes the broadcast";
  EXPECT_EQ(texts(201), (std::vector<std::string>{"doc:your config", "bulk"}));
  EXPECT_EQ(texts(202), (std::vector<std::string>{"pay here", "bulk"})) << "the refused edit arrived as a message";
  EXPECT_EQ(texts(204), (std::vector<std::string>{"first", "second"})) << "nothing overtook the row due later";
  auto doc = emulator.messages(201);
  int64_t doc_id = 0;
  for (const auto& m : doc)
    if (m.contains("document")) doc_id = m["message_id"];
  auto [status, bytes] = vpnbot::testing::http_request(
      "GET", emulator.base_url() + "/client/file?chat_id=201&message_id=" + std::to_string(doc_id), "");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(bytes, conf) << "the file arrives byte for byte";
}

// A sender killed mid-call: replies (at least once) reach every user, bulk messages (at most once) nobody twice.
TEST_F(TelegramTest, SenderKilledMidSendResendsRepliesButNeverBulk) {
  EmulatorThread emulator;
  for (int64_t chat = 301; chat <= 312; ++chat)
    emulator.client("/client/send_message", {{"user_id", chat}, {"text", "hi"}});
  // Every call takes 6 s: all twelve are in flight together even on a loaded machine, and the kill lands mid-call.
  emulator.client("/client/latency", {{"ms", 6000}});
  auto pool = make_pool();
  telegram::Outbox outbox(*pool);
  for (int64_t chat = 301; chat <= 312; ++chat) {
    telegram::OutMessage m;
    m.chat_id = chat;
    bool bulk = chat > 306;
    m.payload = {{"text", bulk ? "bulk" : "your answer"}};
    if (bulk) m.delivery = telegram::Delivery::at_most_once;
    run(outbox.enqueue(m));
  }
  uint16_t port = vpnbot::testing::free_port();
  auto env = serve_env(emulator, port);
  env["VPNBOT_ROLES"] = "worker";
  env["VPNBOT_TELEGRAM_SEND_TIMEOUT_MS"] = "10000";
  env["VPNBOT_INSTANCE_ID"] = "doomed";
  auto doomed = vpnbot::testing::spawn_vpnbot({"serve"}, env);
  // Kill only once every call has arrived at the emulator (a row marked `sending` may not have left the process
  // yet): all twelve are then in flight, and their answers go nowhere.
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM outbox WHERE state = 'sending'") >= 12 &&
           emulator.stats()["calls"].value("sendMessage", 0) >= 12;
  })) << doomed.output();
  doomed.signal(SIGKILL);
  doomed.wait(Millis(5000));
  env["VPNBOT_INSTANCE_ID"] = "survivor";
  emulator.client("/client/latency", {{"ms", 0}});
  auto survivor = vpnbot::testing::spawn_vpnbot({"serve"}, env);
  EXPECT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')") == 0; }, Millis(60000)))
      << survivor.output();
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE delivery = 'at_least_once' AND state = 'sent'"), 6)
      << "every reply was sent again by the next sender";
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE delivery = 'at_most_once' AND state = 'ambiguous'"), 6)
      << "bulk rows in flight at the kill are declared ambiguous, not resent";
  for (int64_t chat = 301; chat <= 312; ++chat) {
    int copies = 0;
    for (const auto& m : emulator.messages(chat)) copies += m["from_bot"].get<bool>() ? 1 : 0;
    if (chat <= 306)
      EXPECT_GE(copies, 1) << "chat " << chat << " never got its answer";
    else
      EXPECT_LE(copies, 1) << "chat " << chat << " got a bulk message twice";
  }
  EXPECT_EQ(emulator.stats()["rate_limited"], 0);
  survivor.signal(SIGTERM);
  EXPECT_EQ(survivor.wait(Millis(20000)), 0);
}

// 200 users send /start at once: each gets one complete answer (welcome + menu in one message), and an
// arrival-counting Bot API refuses nothing, also when every call takes 1.5 s.
TEST_F(TelegramTest, TwoHundredUsersStartAtOnceEachGetOneCompleteAnswerWithoutA429) {
  EmulatorThread emulator;
  uint16_t port = vpnbot::testing::free_port();
  auto serve = vpnbot::testing::spawn_vpnbot({"serve"}, serve_env(emulator, port));
  ASSERT_TRUE(eventually([&] { return emulator.stats()["webhook_url"] != ""; })) << serve.output();
  auto answers = [&](int64_t chat) { return from_bot(emulator, chat); };
  for (int latency_ms : {0, 1500}) {
    emulator.client("/client/latency", {{"ms", latency_ms}});
    int64_t first = latency_ms == 0 ? 10000 : 20000;
    auto started = Clock::now();
    for (int64_t user = first; user < first + 200; ++user)
      emulator.client("/client/send_message", {{"user_id", user}, {"text", "/start"}, {"first_name", "User"}});
    ASSERT_TRUE(eventually(
        [&] {
          for (int64_t user = first; user < first + 200; ++user)
            if (answers(user).empty()) return false;
          return true;
        },
        Millis(120000)))
        << serve.output().substr(0, 4000);
    auto took = std::chrono::duration_cast<Millis>(Clock::now() - started).count();
    // The last answer was the positive event; now nothing more may have come, and each answer is complete.
    for (int64_t user = first; user < first + 200; ++user) {
      auto got = answers(user);
      ASSERT_EQ(got.size(), 1u) << "user " << user << ": " << got.dump();
      auto text = got[0].value("text", "");
      EXPECT_NE(text.find("Hi, User!"), std::string::npos) << text;
      EXPECT_NE(text.find("Main menu"), std::string::npos) << text;
      EXPECT_EQ(got[0]["reply_markup"]["inline_keyboard"].size(), 5u);
    }
    auto stats = emulator.stats();
    EXPECT_EQ(stats["rate_limited"], 0) << "latency " << latency_ms << " ms: " << stats.dump();
    std::cout << "200 x /start with " << latency_ms << " ms API latency: all answered in " << took << " ms, "
              << stats["rate_limited"] << " 429s\n";
  }
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(20000)), 0) << serve.output();
}

// SIGTERM in polling mode while a 25 s long poll is open: the poll is cancelled, the process exits 0 within 2 s,
// and updates sent while it was down are handled once by the next start.
TEST_F(TelegramTest, PollingStopsWithinTwoSecondsDuringALongPollAndLosesNothing) {
  EmulatorThread emulator;
  auto env = serve_env(emulator, vpnbot::testing::free_port());
  env["VPNBOT_TELEGRAM_MODE"] = "polling";
  env["VPNBOT_TELEGRAM_POLL_TIMEOUT_S"] = "25";
  auto answers = [&](int64_t chat) {
    int n = 0;
    for (const auto& m : emulator.messages(chat)) n += m["from_bot"].get<bool>() ? 1 : 0;
    return n;
  };
  for (int round = 0; round < 2; ++round) {
    int polls_before = emulator.stats()["calls"].value("getUpdates", 0);
    auto serve = vpnbot::testing::spawn_vpnbot({"serve"}, env);
    // Polling (the first long poll is open), then an update: the open poll returns it and the next one opens.
    ASSERT_TRUE(eventually([&] { return emulator.stats()["calls"].value("getUpdates", 0) > polls_before; }));
    int polls = emulator.stats()["calls"].value("getUpdates", 0);
    int64_t user = 8000 + round;
    emulator.client("/client/send_message", {{"user_id", user}, {"text", "/start"}});
    ASSERT_TRUE(eventually([&] { return answers(user) == 1; })) << serve.output();
    ASSERT_TRUE(eventually([&] { return emulator.stats()["calls"].value("getUpdates", 0) > polls; }));
    auto stop_started = Clock::now();
    serve.signal(SIGTERM);
    EXPECT_EQ(serve.wait(Millis(10000)), 0) << serve.output();
    auto took = std::chrono::duration_cast<Millis>(Clock::now() - stop_started).count();
    EXPECT_LT(took, 2000) << "SIGTERM with a long poll open took " << took << " ms";
    std::cout << "round " << round << ": SIGTERM with a long poll open -> exit in " << took << " ms\n";
    // Sent while nobody polls: the next round's process picks it up.
    emulator.client("/client/send_message", {{"user_id", 8100 + round}, {"text", "/start"}});
  }
  auto last = vpnbot::testing::spawn_vpnbot({"serve"}, env);
  ASSERT_TRUE(eventually([&] { return answers(8101) == 1 && answers(8100) == 1; })) << last.output();
  ASSERT_TRUE(eventually([&] { return emulator.stats()["pending_updates"] == 0; })) << "offset confirmed";
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox"), 4);
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE attempts <> 1"), 0) << "each update handled once";
  for (int64_t user : {8000, 8001, 8100, 8101}) EXPECT_EQ(answers(user), 1) << user;
  last.signal(SIGTERM);
  EXPECT_EQ(last.wait(Millis(10000)), 0);
}
