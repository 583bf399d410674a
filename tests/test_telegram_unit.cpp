// Pure logic of the Telegram layer: callback data, catalogs and plurals, rate limits, secrets, parsing.
#include <gtest/gtest.h>

#include <deque>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "bot/actions/action.hpp"
#include "bot/callback.hpp"
#include "bot/i18n.hpp"
#include "bot/routes.hpp"
#include "bot/update_shape.hpp"
#include "bot/users.hpp"
#include "core/encoding.hpp"
#include "emulator/multipart.hpp"
#include "emulator/telegram_emulator.hpp"
#include "emulator/telegram_formatting.hpp"
#include "telegram/bot_api.hpp"
#include "telegram/inbox.hpp"
#include "telegram/ingest.hpp"
#include "telegram/rate_limiter.hpp"

using namespace vpnbot;

TEST(Callback, RoundTripsAndStaysWithin64Bytes) {
  auto data = bot::encode_callback("m", {"ref"});
  EXPECT_EQ(data, "1:m:ref");
  auto decoded = bot::decode_callback(data);
  ASSERT_EQ(decoded.status, bot::CallbackStatus::ok);
  EXPECT_EQ(decoded.callback.action, "m");
  EXPECT_EQ(decoded.callback.args, std::vector<std::string>{"ref"});
  EXPECT_THROW(bot::encode_callback("x", {std::string(70, 'a')}), std::invalid_argument);
  EXPECT_THROW(bot::encode_callback("x", {"a:b"}), std::invalid_argument);
}

// Every button's builder: the data decodes to an action of the one table, within Telegram's 64 bytes at the largest
// ids; purchases (and the screens in front of them) are behind the channel gate, nothing else is.
TEST(Callback, EveryRouteDecodesToAKnownActionAndOnlyPurchasesAreGated) {
  namespace route = bot::route;
  constexpr int64_t kLargest = INT64_MAX;
  const std::vector<std::pair<std::string, bool>> buttons{
      {route::screen("sub"), false},
      {route::screen("buy"), true},
      {route::screen("tpk"), true},
      {route::plan(kLargest, true), true},
      {route::payment_method(kLargest, "yookassa", true, false), true},
      {route::pay(kLargest, "cryptopay", false, true), true},
      {route::trial(), true},
      {route::auto_renew(true), false},
      {route::remove_card(), false},
      {route::exchange_points(), false},
      {route::traffic_package(kLargest), true},
      {route::pay_traffic(kLargest, "heleket"), true},
      {route::new_config("x" + std::to_string(kLargest)), false},
      {route::config("rky", kLargest), false},
      {route::panel_account("rmy", kLargest), false},
      {route::close_ticket(kLargest), false},
      {route::language("uk"), false},
      {route::accept_terms(7), false},
      {route::channels_joined(), true},
  };
  std::set<std::string> pressed;
  for (const auto& [data, gated] : buttons) {
    EXPECT_LE(data.size(), bot::kCallbackMaxBytes) << data;
    auto decoded = bot::decode_callback(data);
    ASSERT_EQ(decoded.status, bot::CallbackStatus::ok) << data;
    pressed.insert(decoded.callback.action);
    EXPECT_NE(bot::actions::find(decoded.callback.action), nullptr) << data;
    EXPECT_EQ(route::leads_to_purchase(decoded.callback), gated) << data;
  }
  for (const auto& action : bot::actions::all())
    EXPECT_TRUE(pressed.count(std::string(action.code))) << "an action without a button here: " << action.code;
  EXPECT_EQ(route::pay(3, "yookassa", true), "1:pc:3:yk:s") << "the wire format buttons already sent carry";
  EXPECT_EQ(route::plan(3, true), "1:pl:3:g");
  for (const char* provider : {"yookassa", "heleket", "cryptopay", "stars", "balance"})
    EXPECT_EQ(route::provider_of(route::method_code(provider)), provider);
  EXPECT_FALSE(route::provider_of("zz"));
  EXPECT_EQ(bot::actions::find("zz"), nullptr);
  EXPECT_EQ(bot::actions::find("adm"), nullptr) << "the admin panel routes its own buttons";
}

TEST(Callback, OldOrForeignButtonsAreExpiredNotErrors) {
  EXPECT_EQ(bot::decode_callback("0:m:menu").status, bot::CallbackStatus::expired);
  EXPECT_EQ(bot::decode_callback("buy_plan_3").status, bot::CallbackStatus::expired);  // pre-versioning format
  EXPECT_EQ(bot::decode_callback("01:m:menu").status, bot::CallbackStatus::expired) << "one spelling per button";
  EXPECT_EQ(bot::decode_callback("").status, bot::CallbackStatus::malformed);
  EXPECT_EQ(bot::decode_callback("1:").status, bot::CallbackStatus::malformed);
  EXPECT_EQ(bot::decode_callback(std::string(65, '1')).status, bot::CallbackStatus::malformed);
}

TEST(I18n, EveryKeyIsInEveryCatalogWithTheSameShape) {
  const auto& catalog = bot::Catalog::embedded();
  auto languages = catalog.languages();
  ASSERT_EQ(languages, (std::vector<std::string>{"en", "ru", "uk", "zh"}));
  for (const auto& a : languages)
    for (const auto& b : languages)
      for (const auto& key : catalog.keys(a)) {
        const auto* other = catalog.entry(b, key);
        ASSERT_NE(other, nullptr) << key << " is in " << a << " but not in " << b;
        EXPECT_EQ(catalog.entry(a, key)->type(), other->type()) << key;
        // The key is really in b's own file, not a fallback to English.
        auto keys_b = catalog.keys(b);
        EXPECT_NE(std::find(keys_b.begin(), keys_b.end(), key), keys_b.end()) << key << " missing from " << b;
      }
}

TEST(I18n, PlaceholdersMatchAcrossLanguages) {
  const auto& catalog = bot::Catalog::embedded();
  auto placeholders = [](const nlohmann::json& e) {
    std::set<std::string> out;
    auto scan = [&](const std::string& s) {
      for (size_t p = s.find('{'); p != std::string::npos; p = s.find('{', p + 1))
        out.insert(s.substr(p, s.find('}', p) - p + 1));
    };
    if (e.is_string()) scan(e.get<std::string>());
    if (e.is_object())
      for (auto& [_, v] : e.items()) scan(v.get<std::string>());
    return out;
  };
  for (const auto& language : catalog.languages())
    for (const auto& key : catalog.keys("en"))
      EXPECT_EQ(placeholders(*catalog.entry("en", key)), placeholders(*catalog.entry(language, key)))
          << language << ": " << key;
}

// Every text of every catalog, its placeholders filled with plain words, is HTML the Bot API accepts (tags it
// supports, closed; an & that starts no entity stays literal) and fits a message: a bad text would leave a button
// silent on the real API while the tests pass.
TEST(I18n, EveryTextIsHtmlTheBotApiAccepts) {
  const auto& catalog = bot::Catalog::embedded();
  auto filled = [](std::string text) {
    for (size_t open = text.find('{'); open != std::string::npos; open = text.find('{', open + 1)) {
      size_t close = text.find('}', open);
      if (close == std::string::npos) break;
      text.replace(open, close - open + 1, "x");
    }
    return text;
  };
  int checked = 0;
  for (const auto& language : catalog.languages())
    for (const auto& key : catalog.keys(language)) {
      const auto& entry = *catalog.entry(language, key);
      std::vector<std::string> texts;
      if (entry.is_string()) texts.push_back(entry.get<std::string>());
      if (entry.is_object())
        for (auto& [_, form] : entry.items()) texts.push_back(form.get<std::string>());
      for (const auto& text : texts) {
        std::string shown;
        EXPECT_NO_THROW(shown = emulator::visible_text(filled(text), "HTML")) << language << ": " << key;
        EXPECT_LE(utf8_length(shown), 1024u) << language << ": " << key << " (a caption's limit)";
        ++checked;
      }
    }
  EXPECT_GT(checked, 400);
}

// Every counted phrase of every catalog has each form its language's plural rule picks (n = 0..1000), so no count
// falls back to another form or shows the key.
TEST(I18n, EveryPluralPhraseHasTheFormsItsLanguageNeeds) {
  const auto& catalog = bot::Catalog::embedded();
  for (const auto& language : catalog.languages()) {
    std::set<std::string> needed;
    for (int64_t n = 0; n <= 1000; ++n) needed.insert(bot::plural_category(language, n));
    for (const auto& key : catalog.keys(language)) {
      const auto* e = catalog.entry(language, key);
      if (!e->is_object()) continue;
      for (const auto& form : needed) EXPECT_TRUE(e->contains(form)) << language << ": " << key << " lacks " << form;
    }
  }
  EXPECT_EQ(std::set<std::string>({"one", "few", "many"}), [] {
    std::set<std::string> s;
    for (int64_t n = 0; n <= 1000; ++n) s.insert(bot::plural_category("uk", n));
    return s;
  }());
}

TEST(I18n, UkrainianAndChinesePluralsAndLanguageCodes) {
  const auto& c = bot::Catalog::embedded();
  EXPECT_EQ(c.plural("uk", "plural.days", 1), "1 день");
  EXPECT_EQ(c.plural("uk", "plural.days", 3), "3 дні");
  EXPECT_EQ(c.plural("uk", "plural.days", 5), "5 днів");
  EXPECT_EQ(c.plural("uk", "plural.days", 11), "11 днів");
  EXPECT_EQ(c.plural("uk", "plural.days", 21), "21 день");
  EXPECT_EQ(c.plural("uk", "plural.days", 24), "24 дні");
  EXPECT_EQ(c.plural("zh", "plural.days", 1), "1 天");
  EXPECT_EQ(c.plural("zh", "plural.days", 30), "30 天");
  EXPECT_EQ(c.text("zh", "menu.buy"), "🛒 购买 VPN");
  EXPECT_EQ(bot::Catalog::normalize_language("uk"), "uk");
  EXPECT_EQ(bot::Catalog::normalize_language("zh-hans"), "zh");
  EXPECT_EQ(bot::Catalog::normalize_language("zh-hant"), "zh");
  EXPECT_EQ(bot::Catalog::normalize_language("be"), "ru");
  EXPECT_EQ(bot::Catalog::normalize_language("de"), "en");
  EXPECT_TRUE(c.has_language("uk") && c.has_language("zh") && !c.has_language("de"));
}

TEST(I18n, RussianPluralForms) {
  const auto& c = bot::Catalog::embedded();
  EXPECT_EQ(c.plural("ru", "plural.days", 1), "1 день");
  EXPECT_EQ(c.plural("ru", "plural.days", 2), "2 дня");
  EXPECT_EQ(c.plural("ru", "plural.days", 5), "5 дней");
  EXPECT_EQ(c.plural("ru", "plural.days", 11), "11 дней");
  EXPECT_EQ(c.plural("ru", "plural.days", 21), "21 день");
  EXPECT_EQ(c.plural("ru", "plural.days", 22), "22 дня");
  EXPECT_EQ(c.plural("ru", "plural.days", 112), "112 дней");
  EXPECT_EQ(c.plural("en", "plural.days", 1), "1 day");
  EXPECT_EQ(c.plural("en", "plural.days", 30), "30 days");
  EXPECT_EQ(c.text("de", "common.back"), c.text("en", "common.back")) << "unknown languages fall back to English";
  EXPECT_EQ(c.text("en", "no.such.key"), "no.such.key");
  EXPECT_EQ(bot::Catalog::normalize_language("ru-RU"), "ru");
  EXPECT_EQ(bot::Catalog::normalize_language(""), "en");
  EXPECT_EQ(bot::html_escape("<b>&\""), "&lt;b&gt;&amp;&quot;");
}

TEST(RateLimiter, CallsInFlightAreSpentAndCompletionsRefillAtTheRate) {
  telegram::RateLimiter limiter({30, 1.0, 20, 3});
  auto t0 = Clock::now();
  std::vector<telegram::RateLimiter::Slot> slots;
  for (int chat = 1; chat <= 30; ++chat) {
    EXPECT_EQ(limiter.ready_at(chat, t0), t0);
    slots.push_back(limiter.take(chat, t0));
  }
  // 30 calls in flight: however long they take, nothing else may start until one completes.
  EXPECT_EQ(limiter.ready_at(99, t0 + std::chrono::seconds(5)), Clock::time_point::max());
  // One completed at 1.5 s: it and the 29 still in flight may all arrive together, so a 31st call needs the
  // one token that refills in 1/30 s after that completion - not a whole second.
  auto finished = t0 + std::chrono::milliseconds(1500);
  limiter.completed(slots[0], finished);
  auto ready = limiter.ready_at(99, finished);
  EXPECT_GE(ready, finished + std::chrono::microseconds(33333));
  EXPECT_LE(ready, finished + std::chrono::milliseconds(34));
  EXPECT_EQ(limiter.in_flight(), 29u);
}

TEST(RateLimiter, PrivateChatBurstOfThreeThenOnePerSecondFromCompletion) {
  telegram::RateLimiter limiter({1000, 1.0, 20, 3});
  auto t = Clock::now();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.ready_at(7, t), t) << "message " << i << " of the burst goes at once";
    auto slot = limiter.take(7, t);
    EXPECT_EQ(limiter.ready_at(7, t), Clock::time_point::max()) << "one call per chat in flight";
    t += std::chrono::milliseconds(10);
    limiter.completed(slot, t);
  }
  // The bucket is empty: the next one waits for a token, counted from the last completion.
  auto ready = limiter.ready_at(7, t);
  EXPECT_GT(ready, t + std::chrono::milliseconds(900));
  EXPECT_LE(ready, t + std::chrono::milliseconds(1000));
  EXPECT_EQ(limiter.ready_at(8, t), t) << "other chats are not held back";
}

// A sender that takes over knows nothing of its predecessor's last calls, which may have reached Telegram right up to
// the takeover (it died mid-call): every private chat and the global bucket count as spent at that moment.
TEST(RateLimiter, ATakeoverCountsEveryChatAsSpentAtThatMoment) {
  telegram::RateLimiter limiter({30, 1.0, 20, 3});
  auto t0 = Clock::now();
  limiter.assume_spent(t0);
  EXPECT_GT(limiter.global_ready_at(t0), t0) << "the global bucket too: one global interval";
  EXPECT_LE(limiter.global_ready_at(t0), t0 + std::chrono::milliseconds(34));
  auto first = limiter.ready_at(7, t0);
  EXPECT_GE(first, t0 + std::chrono::seconds(1)) << "one token refilled since the takeover";
  EXPECT_LE(first, t0 + std::chrono::milliseconds(1001));
  auto slot = limiter.take(7, first);
  limiter.completed(slot, first + std::chrono::milliseconds(10));
  auto second = limiter.ready_at(7, first + std::chrono::milliseconds(10));
  EXPECT_GE(second, first + std::chrono::seconds(1)) << "then one per second, not a fresh burst";
  auto later = t0 + std::chrono::seconds(10);
  EXPECT_EQ(limiter.ready_at(8, later), later) << "long after the takeover a chat has its whole burst again";
}

TEST(RateLimiter, GroupsTwentyPerMinuteAndPauseAfter429) {
  telegram::RateLimiter limiter({1000, 1.0, 20, 3});
  auto t0 = Clock::now();
  for (int i = 0; i < 20; ++i) limiter.completed(limiter.take(-100, t0), t0 + std::chrono::milliseconds(i));
  EXPECT_EQ(limiter.ready_at(-100, t0 + std::chrono::seconds(1)), t0 + std::chrono::seconds(60));
  limiter.pause_until(t0 + std::chrono::seconds(5));
  EXPECT_EQ(limiter.ready_at(7, t0), t0 + std::chrono::seconds(5));
  limiter.forget_idle(t0 + std::chrono::seconds(120));
  EXPECT_EQ(limiter.tracked_chats(), 0u);
}

// Simulated time: `messages` calls to `chats` chats (round robin) started as soon as the limiter allows, each
// completing after a random latency up to `latency_ms` and reaching the server at a random moment in between.
// Returns the simulated time to start them all and the calls an arrival-counting server would refuse.
struct Simulated {
  Millis duration;
  int refused = 0;
};

Simulated simulate_sender(int rate, int messages, int64_t chats, int latency_ms, std::mt19937& random) {
  telegram::RateLimiter limiter({rate, 1.0, 20, 3});
  emulator::TokenBucket global;
  std::map<int64_t, emulator::TokenBucket> per_chat;
  struct Call {
    Clock::time_point finish;
    telegram::RateLimiter::Slot slot;
  };
  std::vector<Call> in_flight;
  std::vector<std::pair<Clock::time_point, int64_t>> arrivals;
  std::deque<int64_t> queue;
  for (int i = 0; i < messages; ++i) queue.push_back(1 + i % chats);
  auto begin = Clock::time_point{} + std::chrono::hours(1);
  auto now = begin;
  int sent = 0;
  while (sent < messages) {
    for (auto it = in_flight.begin(); it != in_flight.end();) {
      if (it->finish <= now) {
        limiter.completed(it->slot, it->finish);
        it = in_flight.erase(it);
      } else {
        ++it;
      }
    }
    // Start what the limiter allows, in queue order, skipping chats that must wait.
    for (auto it = queue.begin(); it != queue.end();) {
      if (limiter.global_ready_at(now) > now) break;
      if (limiter.ready_at(*it, now) > now) {
        ++it;
        continue;
      }
      auto slot = limiter.take(*it, now);
      auto latency = std::chrono::milliseconds(latency_ms ? random() % (latency_ms + 1) : 0);
      auto arrival =
          now + std::chrono::duration_cast<Clock::duration>(latency * std::uniform_real_distribution<>(0, 1)(random));
      in_flight.push_back({now + latency, slot});
      arrivals.push_back({arrival, *it});
      ++sent;
      it = queue.erase(it);
    }
    now += std::chrono::milliseconds(1);
  }
  Simulated result{std::chrono::duration_cast<Millis>(now - begin)};
  std::sort(arrivals.begin(), arrivals.end());
  for (const auto& [at, chat] : arrivals) {
    if (!global.take(rate, rate, at)) ++result.refused;
    if (!per_chat[chat].take(1.0, 3, at)) ++result.refused;
  }
  return result;
}

// The property the sender relies on: whatever the response times, and wherever between the decision and the
// completion each call reaches Telegram, Telegram's arrival-counting buckets (30/s burst 30; 1/s burst 3 per chat)
// never refuse a call the limiter let through.
TEST(RateLimiter, ArrivalCountingBucketsNeverRefuseWhateverTheLatency) {
  std::mt19937 random(42);
  for (int latency_ms : {0, 40, 300, 1500}) {
    // 400 messages: 200 users pressing /start twice.
    auto result = simulate_sender(30, 400, 200, latency_ms, random);
    std::cout << "latency up to " << latency_ms << " ms: 400 messages in " << result.duration.count()
              << " simulated ms\n";
    EXPECT_GE(result.duration, Millis(12000)) << "30/s with a burst of 30 cannot start 400 faster";
    EXPECT_EQ(result.refused, 0) << "latency up to " << latency_ms << " ms";
  }
}

// And it wastes little of the limit: with responses of up to 150 ms (a busy API), a broadcast at 1000/s keeps
// 99% of the rate after the initial burst (counting a slot until a second after completion kept ~93%).
TEST(RateLimiter, BroadcastKeepsTheConfiguredRateUnderLatency) {
  std::mt19937 random(7);
  const int rate = 1000, messages = 20000;
  auto result = simulate_sender(rate, messages, messages, 150, random);
  double sustained = (messages - rate) / std::chrono::duration<double>(result.duration).count();
  std::cout << "sustained " << sustained << "/s of " << rate << "/s\n";
  EXPECT_GE(sustained, 0.99 * rate);
  EXPECT_LE(sustained, 1.0 * rate + 1);
  EXPECT_EQ(result.refused, 0);
}

TEST(Webhook, SecretComparison) {
  EXPECT_TRUE(telegram::secret_matches("s3cret-token", "s3cret-token"));
  EXPECT_FALSE(telegram::secret_matches("s3cret-tokeN", "s3cret-token"));
  EXPECT_FALSE(telegram::secret_matches("s3cret", "s3cret-token"));
  EXPECT_FALSE(telegram::secret_matches("", "s3cret-token"));
}

TEST(Updates, ClassifiedByChatAndKind) {
  using nlohmann::json;
  auto key = telegram::classify_update(
      json::parse(R"({"update_id": 5, "message": {"message_id": 1, "chat": {"id": 42}, "from": {"id": 42}}})"));
  EXPECT_EQ(key.update_id, 5);
  EXPECT_EQ(key.kind, "message");
  EXPECT_EQ(key.chat_id, 42);
  key = telegram::classify_update(json::parse(
      R"({"update_id": 6, "callback_query": {"id": "q", "from": {"id": 7}, "message": {"chat": {"id": 42}}}})"));
  EXPECT_EQ(key.chat_id, 42);
  key = telegram::classify_update(json::parse(R"({"update_id": 7, "pre_checkout_query": {"from": {"id": 9}}})"));
  EXPECT_EQ(key.chat_id, 9);
  key = telegram::classify_update(json::parse(R"({"update_id": 8, "poll": {"id": "x"}})"));
  EXPECT_FALSE(key.chat_id.has_value());
  for (const char* bad : {R"([])", R"({"message": {}})", R"({"update_id": "5", "message": {}})",
                          R"({"update_id": -1, "message": {}})", R"({"update_id": 5})", R"({"update_id": 5, "x": 1})"})
    EXPECT_THROW(telegram::classify_update(json::parse(bad)), telegram::MalformedUpdate) << bad;
}

TEST(BotApi, ErrorsCarryCodeDescriptionAndRetryAfter) {
  EXPECT_EQ(telegram::BotApi::parse_response(200, R"({"ok":true,"result":{"id":1}})")["id"], 1);
  try {
    telegram::BotApi::parse_response(
        429,
        R"({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}})");
    FAIL();
  } catch (const telegram::ApiError& e) {
    EXPECT_TRUE(e.too_many_requests());
    EXPECT_EQ(e.retry_after(), 7);
  }
  try {
    telegram::BotApi::parse_response(403,
                                     R"({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked"})");
    FAIL();
  } catch (const telegram::ApiError& e) {
    EXPECT_TRUE(e.forbidden());
    EXPECT_EQ(e.description(), "Forbidden: bot was blocked");
  }
  EXPECT_THROW(telegram::BotApi::parse_response(502, "<html>bad gateway</html>"), telegram::ApiError);
}

TEST(Multipart, ParsesFieldsAndFiles) {
  std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"document\"; filename=\"wg.conf\"\r\n"
      "Content-Type: text/plain\r\n\r\n[Interface]\r\nKey = x\r\n--XyZ--\r\n";
  auto boundary = emulator::multipart_boundary("multipart/form-data; boundary=XyZ");
  ASSERT_EQ(boundary, "XyZ");
  auto parts = emulator::parse_multipart(body, *boundary);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].name, "chat_id");
  EXPECT_EQ(parts[0].data, "42");
  EXPECT_EQ(parts[1].filename, "wg.conf");
  EXPECT_EQ(parts[1].data, "[Interface]\r\nKey = x");
  EXPECT_THROW(emulator::parse_multipart("garbage", "XyZ"), std::invalid_argument);
  EXPECT_FALSE(emulator::multipart_boundary("application/json").has_value());
}

TEST(Users, ReferralCodesAreBase36Ids) {
  EXPECT_EQ(bot::referral_code_for(0), "0");
  EXPECT_EQ(bot::referral_code_for(35), "z");
  EXPECT_EQ(bot::referral_code_for(36), "10");
  EXPECT_EQ(bot::referral_code_for(123456789), "21i3v9");
}

// Only the update's own shape is "bad input"; well-formed updates pass so that any later error is retried.
TEST(UpdateShape, FieldsOfTheWrongTypeAreNamedAndWellFormedUpdatesPass) {
  using nlohmann::json;
  auto problem = [](const std::string& kind, const char* text) {
    return bot::update_shape_problem(kind, json::parse(text));
  };
  EXPECT_EQ(problem("message", R"({"message": {"message_id": 1, "from": {"id": 7, "first_name": "A"},
                                                "chat": {"id": 7, "type": "private"}, "text": "/start"}})"),
            std::nullopt);
  EXPECT_EQ(problem("callback_query", R"({"callback_query": {"id": "q", "from": {"id": 7}, "data": "01:m:menu",
                                                             "message": {"message_id": 3, "chat": {"id": 7}}}})"),
            std::nullopt);
  EXPECT_EQ(problem("pre_checkout_query", R"({"pre_checkout_query": {"id": "p", "from": {"id": 7}, "currency": "XTR",
                                                                     "total_amount": 100, "invoice_payload": "o:1"}})"),
            std::nullopt);
  EXPECT_EQ(problem("my_chat_member", R"({"my_chat_member": {"from": {"id": 7}, "chat": {"id": 7, "type": "private"},
                                                             "new_chat_member": {"status": "kicked"}}})"),
            std::nullopt);
  struct Bad {
    const char* kind;
    const char* body;
    const char* named;
  };
  for (const auto& bad : std::vector<Bad>{
           {"message", R"({"message": {"from": {"id": "7"}, "chat": {"id": 7}}})", "message.from.id"},
           {"message", R"({"message": {"from": {"id": 7}, "chat": {"id": 7}, "text": 5}})", "message.text"},
           {"message", R"({"message": {"chat": {"id": 7}}})", "message.from"},
           {"message", R"({"message": {"from": {"id": 7, "language_code": 1}}})", "language_code"},
           {"message", R"({"message": {"from": {"id": 7}, "successful_payment": {"total_amount": "9"}}})",
            "total_amount"},
           {"callback_query", R"({"callback_query": {"id": 1, "from": {"id": 7}}})", "callback_query.id"},
           {"callback_query", R"({"callback_query": {"id": "q", "from": {"id": 7}, "message": []}})", "message"},
           {"pre_checkout_query", R"({"pre_checkout_query": {"id": "p", "from": {"id": 7}, "currency": 1}})",
            "currency"},
           {"my_chat_member", R"({"my_chat_member": {"from": {"id": 7}}})", "my_chat_member.chat"},
           {"message", R"({"message": []})", "message is not an object"},
       }) {
    auto found = problem(bad.kind, bad.body);
    ASSERT_TRUE(found.has_value()) << bad.body;
    EXPECT_NE(found->find(bad.named), std::string::npos) << *found;
  }
}

// The Telegram emulator refuses what the Bot API refuses (tdlib's HTML parser, the Bot API's keyboard limits), so a
// screen that would be silent on the real API fails its test.
TEST(TelegramFormatting, HtmlIsParsedAsTheBotApiParsesIt) {
  using vpnbot::emulator::FormattingError;
  using vpnbot::emulator::visible_text;
  EXPECT_EQ(visible_text("<b>Balance & points</b>", "HTML"), "Balance & points") << "an & starting no entity stays";
  EXPECT_EQ(visible_text("&lt;b&gt; &amp; &#60;&#x3C; &quot; &copy;", "HTML"), "<b> & << \" &copy;");
  EXPECT_EQ(visible_text("<a href=\"https://x.test/?a=1&amp;b=2\">link</a> <code>c</code>", "HTML"), "link c");
  EXPECT_EQ(visible_text("<blockquote expandable>q</blockquote><span class=\"tg-spoiler\">s</span>", "HTML"), "qs");
  EXPECT_EQ(visible_text("a < b", ""), "a < b") << "no parse mode: the text itself";
  auto refused = [](const std::string& text) {
    try {
      visible_text(text, "HTML");
    } catch (const FormattingError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refused("1 < 2"), "Bad Request: can't parse entities: Unsupported start tag \"\" at byte offset 2");
  EXPECT_EQ(refused("<h1>x</h1>"), "Bad Request: can't parse entities: Unsupported start tag \"h1\" at byte offset 0");
  EXPECT_EQ(refused("<b>x</i>"),
            "Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected \"</b>\", found \"</i>\"");
  EXPECT_EQ(refused("<b>x"), "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"");
  EXPECT_EQ(refused("x</b>"), "Bad Request: can't parse entities: Unexpected end tag at byte offset 1");
  EXPECT_EQ(refused("<b"), "Bad Request: can't parse entities: Unclosed start tag at byte offset 0");
  EXPECT_NE(refused("<span>x</span>").find("tg-spoiler"), std::string::npos);
  // Any depth costs a vector entry, not a stack frame.
  std::string deep;
  for (int i = 0; i < 200000; ++i) deep += "<b>";
  EXPECT_NE(refused(deep).find("Can't find end tag"), std::string::npos);
}

TEST(TelegramFormatting, InlineKeyboardsAreCheckedAsTheBotApiChecksThem) {
  using vpnbot::emulator::check_inline_keyboard;
  auto keyboard = [](nlohmann::json button) { return nlohmann::json{{"inline_keyboard", {{button}}}}; };
  EXPECT_NO_THROW(check_inline_keyboard(keyboard({{"text", "Pay"}, {"callback_data", std::string(64, 'x')}})));
  EXPECT_NO_THROW(check_inline_keyboard(keyboard({{"text", "Open"}, {"url", "https://x.test"}})));
  EXPECT_NO_THROW(check_inline_keyboard({{"remove_keyboard", true}}));
  using vpnbot::emulator::FormattingError;
  EXPECT_THROW(check_inline_keyboard(keyboard({{"text", "Pay"}, {"callback_data", std::string(65, 'x')}})),
               FormattingError);
  EXPECT_THROW(check_inline_keyboard(keyboard({{"text", "Pay"}, {"callback_data", ""}})), FormattingError);
  EXPECT_THROW(check_inline_keyboard(keyboard({{"text", ""}, {"callback_data", "x"}})), FormattingError);
  EXPECT_THROW(check_inline_keyboard(keyboard({{"text", "Two"}, {"callback_data", "x"}, {"url", "https://x.test"}})),
               FormattingError);
  EXPECT_THROW(check_inline_keyboard(keyboard({{"text", "None"}})), FormattingError);
  EXPECT_THROW(check_inline_keyboard(keyboard({{"text", "App"}, {"url", "happ://add/x"}})), FormattingError);
}
