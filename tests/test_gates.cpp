// The bot's front end, end to end (the real binary against the Telegram emulator, which refuses what the Bot API
// refuses): the gates in front of the shop (maintenance, the terms of service, the required channels), and every
// screen and admin page in every language.
#include "support/shop_rig.hpp"

class GatesTest : public vpnbot::testing::ShopRig {};

// Maintenance mode, switched by the CLI (with a message) and off again from the admin panel, both audited: users
// get the notice for messages and buttons, a referral link opened meanwhile still counts, the admin keeps the panel,
// and payments begun before it (a Stars invoice, a YooKassa checkout) are paid and granted during it.
TEST_F(GatesTest, MaintenanceAnswersUsersWhileAdminsAndPaymentsKeepWorking) {
  BotRig bot(*this, "10.31.0.0/24", "maintenance-test-secret");
  auto& telegram = bot.telegram;
  auto& e = bot.env;
  constexpr int64_t admin = 7000, buyer = 7001, newcomer = 7002;
  e["VPNBOT_ADMIN_IDS"] = std::to_string(admin);
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto& serve = bot.serve;
  auto chat = [&](int64_t id, const std::string& language = "en") { return ChatUser{telegram, id, language}; };
  chat(buyer).say("/start");
  chat(admin).say("/start");
  ASSERT_TRUE(eventually([&] { return chat(buyer).find("Main menu") && chat(admin).find("Main menu"); }))
      << serve.output().substr(0, 3000);
  int64_t menu = chat(buyer).find("Main menu")->at("message_id");
  // Before maintenance: a Stars invoice and a YooKassa checkout link.
  chat(buyer).press(menu, route::pay(1, "stars"));
  std::optional<json> invoice;
  ASSERT_TRUE(eventually([&] {
    for (auto& m : bot_messages_of(telegram, buyer))
      if (m.contains("invoice")) invoice = m;
    return invoice.has_value();
  }));
  chat(buyer).press(menu, route::pay(1, "yookassa"));
  ASSERT_TRUE(eventually([&] { return chat(buyer).find("Tap the button to pay").has_value(); }));
  std::string checkout = chat(buyer).find("Tap the button to pay")->at("reply_markup")["inline_keyboard"][0][0]["url"];

  auto on = vpnbot::testing::spawn_vpnbot(
      {"admin", "--actor", std::to_string(admin), "maintenance", "on", "--message", "Back at 18:00 <MSK>"}, e);
  ASSERT_EQ(on.wait(Millis(20000)), 0) << on.output();
  EXPECT_NE(on.output().find("maintenance is on"), std::string::npos) << on.output();
  EXPECT_EQ(count("SELECT count(*) FROM admin_audit WHERE action = 'maintenance_on' AND actor_id = 7000 AND "
                  "details->>'message' = 'Back at 18:00 <MSK>'"),
            1);

  // Users: a message gets the notice with the operator's words (escaped for HTML), a button an alert.
  chat(buyer).say("/start");
  ASSERT_TRUE(eventually([&] { return chat(buyer).find("under maintenance").has_value(); }))
      << serve.output().substr(0, 3000);
  EXPECT_NE(chat(buyer).find("under maintenance")->at("text").get<std::string>().find("Back at 18:00 &lt;MSK&gt;"),
            std::string::npos)
      << chat(buyer).find("under maintenance")->dump();
  chat(buyer).press(menu, route::screen("sub"));
  json answers;
  ASSERT_TRUE(eventually([&] {
    answers = telegram.client("/client/callback_answers?user_id=" + std::to_string(buyer))["answers"];
    return !answers.empty() && answers.back()["text"].get<std::string>().find("under maintenance") != std::string::npos;
  })) << answers.dump();
  EXPECT_TRUE(answers.back()["show_alert"].get<bool>());
  // A newcomer by a referral link: the notice, and the referral is recorded for later.
  chat(newcomer).say("/start ref_" + bot::referral_code_for(buyer));
  ASSERT_TRUE(eventually([&] { return chat(newcomer).find("under maintenance").has_value(); }));
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT referrer_id FROM users WHERE id = 7002"), "7001");
  EXPECT_FALSE(chat(newcomer).find("Main menu").has_value());

  // The admin keeps working: the panel shows the switch.
  chat(admin).say("/admin");
  ASSERT_TRUE(eventually([&] { return chat(admin).find("Maintenance is ON").has_value(); }))
      << serve.output().substr(0, 3000);
  int64_t panel = chat(admin).find("Maintenance is ON")->at("message_id");

  // Payments begun before it are paid and granted during it.
  telegram.client("/client/pay", {{"user_id", buyer}, {"message_id", (*invoice)["message_id"]}});
  ASSERT_TRUE(eventually([&] { return chat(buyer).find("Payment received").has_value(); }))
      << serve.output().substr(0, 4000);
  auto paid = vpnbot::testing::http_request("POST", checkout + "/pay", "");
  EXPECT_NE(paid.second.find("Payment complete"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM orders WHERE state = 'paid'") == 2; }));
  ASSERT_TRUE(eventually([&] { return chat(buyer).count_with("Payment received") == 2; }));
  // The receipt gives the expiry in Moscow time (the default time zone), as PostgreSQL works it out.
  std::string moscow_expiry = vpnbot::testing::query_value_sync(
      url,
      "SELECT to_char(expires_at AT TIME ZONE 'Europe/Moscow', 'YYYY-MM-DD HH24:MI') || ' MSK' "
      "FROM subscriptions WHERE user_id = 7001");
  EXPECT_EQ(chat(buyer).count_with("active until <b>" + moscow_expiry + "</b>"), 1) << bot_messages_of(telegram, buyer);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id = 7001 AND expires_at BETWEEN now() + interval "
                  "'59.9 days' AND now() + interval '60.1 days'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE state = 'failed'"), 0);

  // Off from the panel: the maintenance screen, then its switch.
  chat(admin).press(panel, route::admin({"mt"}));
  ASSERT_TRUE(eventually([&] { return chat(admin).find("Message: Back at 18:00").has_value(); }));
  chat(admin).press(panel, route::admin({"mts", "0"}));
  ASSERT_TRUE(eventually([&] { return chat(admin).find("<b>Maintenance</b>: off").has_value(); }))
      << bot_messages_of(telegram, admin).dump();
  EXPECT_EQ(count("SELECT count(*) FROM admin_audit WHERE action = 'maintenance_off' AND via = 'bot'"), 1);
  int notices = chat(buyer).count_with("under maintenance");
  size_t before = bot_messages_of(telegram, buyer).size();
  chat(buyer).say("/start");
  ASSERT_TRUE(eventually([&] {
    auto all = bot_messages_of(telegram, buyer);
    return all.size() > before && all.back().value("text", "").find("Main menu") != std::string::npos;
  })) << bot_messages_of(telegram, buyer);
  EXPECT_EQ(chat(buyer).count_with("under maintenance"), notices) << "no notice once it is off";
  // The newcomer's first start after it: the welcome names the invitation, and the inviter hears of it once.
  chat(newcomer).say("/start");
  ASSERT_TRUE(eventually([&] { return chat(newcomer).find("a friend's invitation").has_value(); }))
      << bot_messages_of(telegram, newcomer);
  ASSERT_TRUE(eventually([&] { return chat(buyer).count_with("joined by your invitation") == 1; }))
      << bot_messages_of(telegram, buyer);

  auto status = vpnbot::testing::spawn_vpnbot({"admin", "--json", "maintenance", "status"}, e);
  ASSERT_EQ(status.wait(Millis(20000)), 0) << status.output();
  EXPECT_NE(status.output().find(R"("maintenance":"off")"), std::string::npos) << status.output();
  auto again = vpnbot::testing::spawn_vpnbot({"admin", "maintenance", "off"}, e);
  ASSERT_EQ(again.wait(Millis(20000)), 0) << again.output();
  EXPECT_NE(again.output().find("it already was"), std::string::npos) << again.output();
  EXPECT_EQ(count("SELECT count(*) FROM admin_audit WHERE action LIKE 'maintenance%'"), 2) << "no-op not audited";
  for (std::vector<std::string> bad : {std::vector<std::string>{"admin", "maintenance"},
                                       {"admin", "maintenance", "on", "--message", std::string(1001, 'x')},
                                       {"admin", "maintenance", "sideways"}}) {
    auto p = vpnbot::testing::spawn_vpnbot(bad, e);
    EXPECT_EQ(p.wait(Millis(20000)), 2) << p.output();
  }
  EXPECT_EQ(count("SELECT count(*) FROM maintenance WHERE enabled"), 0) << "bad arguments changed nothing";
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(30000)), 0);
}

// Terms of service: a newcomer (by a referral link) sees only the terms until accepting them, whatever is sent or
// pressed; accepting gives the first-start welcome and tells the inviter once; a Russian speaker reads them in
// Russian; raising the version asks again, and the Accept button of the old version does not accept the new one.
TEST_F(GatesTest, TermsOfServiceAreAcceptedOnceAndAskedAgainWhenTheirVersionRises) {
  BotRig bot(*this, "10.32.0.0/24", "rules-test-secret");
  auto& telegram = bot.telegram;
  auto& e = bot.env;
  constexpr int64_t admin = 7100, newcomer = 7101, russian = 7102;
  e["VPNBOT_ADMIN_IDS"] = std::to_string(admin);
  e["VPNBOT_RULES_VERSION"] = "1";
  e["VPNBOT_RULES_TEXT_EN"] = "1. No spam <ever>.\n2. One account per person.";
  e["VPNBOT_RULES_TEXT_RU"] = "1. Никакого спама.";
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto& serve = bot.serve;
  auto chat = [&](int64_t id, const std::string& language = "en") { return ChatUser{telegram, id, language}; };
  // The admin is not asked.
  chat(admin).say("/start");
  ASSERT_TRUE(eventually([&] { return chat(admin).count_with("Main menu") > 0; })) << serve.output().substr(0, 3000);
  EXPECT_EQ(chat(admin).count_with("Terms of service"), 0);

  chat(newcomer).say("/start ref_" + bot::referral_code_for(admin));
  ASSERT_TRUE(eventually([&] { return chat(newcomer).count_with("Terms of service") == 1; }))
      << bot_messages_of(telegram, newcomer);
  json terms = chat(newcomer).last();
  EXPECT_NE(terms["text"].get<std::string>().find("No spam &lt;ever&gt;.\n2. One account"), std::string::npos)
      << terms.dump();
  EXPECT_EQ(terms["reply_markup"]["inline_keyboard"][0][0]["callback_data"], route::accept_terms(1)) << terms.dump();
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT referrer_id FROM users WHERE id = 7101"), "7100");
  // Anything else gets the terms again: a message, and a button of an older menu (its spinner stopped).
  chat(newcomer).say("/buy");
  ASSERT_TRUE(eventually([&] { return chat(newcomer).count_with("Terms of service") == 2; }));
  chat(newcomer).press(terms["message_id"], route::screen("sub"));
  ASSERT_TRUE(eventually([&] { return chat(newcomer).count_with("Terms of service") == 3; }));
  ASSERT_TRUE(eventually([&] {
    return !telegram.client("/client/callback_answers?user_id=" + std::to_string(newcomer))["answers"].empty();
  }));
  EXPECT_EQ(chat(newcomer).count_with("Main menu"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE id = 7101 AND (started_at IS NOT NULL OR "
                  "rules_accepted_version > 0)"),
            0);

  chat(newcomer).press(terms["message_id"], route::accept_terms(1));
  ASSERT_TRUE(eventually([&] { return chat(newcomer).count_with("a friend's invitation") == 1; }))
      << bot_messages_of(telegram, newcomer);
  ASSERT_TRUE(eventually([&] { return chat(admin).count_with("joined by your invitation") == 1; }));
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE id = 7101 AND rules_accepted_version = 1 AND "
                  "rules_accepted_at IS NOT NULL AND started_at IS NOT NULL"),
            1);
  // Pressing Accept again: answered, nothing asked.
  size_t before = bot_messages_of(telegram, newcomer).size();
  chat(newcomer).press(terms["message_id"], route::accept_terms(1));
  chat(newcomer).say("/start");
  ASSERT_TRUE(eventually([&] {
    return bot_messages_of(telegram, newcomer).size() > before &&
           chat(newcomer).last().value("text", "").find("Main menu") != std::string::npos;
  })) << bot_messages_of(telegram, newcomer);
  EXPECT_EQ(chat(newcomer).count_with("Terms of service"), 3);
  EXPECT_EQ(chat(newcomer).count_with("a friend's invitation"), 1) << "one welcome";
  // The language screen offers the four catalogs; Chinese, then back to English.
  int64_t menu = chat(newcomer).last()["message_id"];
  chat(newcomer).press(menu, route::screen("lang"));
  ASSERT_TRUE(eventually([&] { return chat(newcomer).count_with("Choose the bot's language") == 1; }));
  // The screen itself, not the newest message: under per-chat pacing a menu may still arrive after it.
  EXPECT_EQ(
      chat(newcomer).find("Choose the bot's language")->at("reply_markup")["inline_keyboard"][1][1]["callback_data"],
      route::language("zh"));
  chat(newcomer).press(menu, route::language("zh"));
  ASSERT_TRUE(eventually([&] { return chat(newcomer).count_with("主菜单") == 1; }))
      << bot_messages_of(telegram, newcomer);
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT language FROM users WHERE id = 7101"), "zh");
  chat(newcomer).press(menu, route::language("en"));
  ASSERT_TRUE(
      eventually([&] { return chat(newcomer).last().value("text", "").find("Main menu") != std::string::npos; }));

  // In Russian.
  chat(russian, "ru").say("/start");
  ASSERT_TRUE(eventually([&] { return chat(russian).count_with("Условия использования") == 1; }))
      << bot_messages_of(telegram, russian);
  EXPECT_NE(chat(russian).last()["text"].get<std::string>().find("Никакого спама"), std::string::npos);
  // In Ukrainian, whose terms are not configured: the bot's words in Ukrainian, the terms in English.
  constexpr int64_t ukrainian = 7103;
  chat(ukrainian, "uk").say("/start");
  ASSERT_TRUE(eventually([&] { return chat(ukrainian).count_with("Умови використання") == 1; }))
      << bot_messages_of(telegram, ukrainian);
  EXPECT_NE(chat(ukrainian).last()["text"].get<std::string>().find("One account per person"), std::string::npos);
  EXPECT_EQ(chat(ukrainian).last()["reply_markup"]["inline_keyboard"][0][0]["text"], "✅ Приймаю");

  // The admin's user card shows the acceptance.
  auto card = vpnbot::testing::spawn_vpnbot({"admin", "--json", "user", "show", std::to_string(newcomer)}, e);
  ASSERT_EQ(card.wait(Millis(20000)), 0) << card.output();
  EXPECT_NE(card.output().find(R"("rules_accepted_version":1)"), std::string::npos) << card.output();

  // Version 2: asked again at the next message, and only its own button accepts it.
  serve.signal(SIGTERM);
  ASSERT_EQ(serve.wait(Millis(30000)), 0);
  e["VPNBOT_RULES_VERSION"] = "2";
  e["VPNBOT_RULES_TEXT_EN"] = "1. No spam.\n3. No torrents.";
  auto serve2 = spawn(e, "gateway,worker,scheduler", "all-in-one");
  wait_healthy(bot.port, serve2);
  chat(newcomer).say("/start");
  ASSERT_TRUE(eventually([&] { return chat(newcomer).count_with("The terms of service have changed") == 1; }))
      << bot_messages_of(telegram, newcomer) << serve2.output().substr(0, 3000);
  json changed = chat(newcomer).last();
  EXPECT_NE(changed["text"].get<std::string>().find("No torrents"), std::string::npos);
  chat(newcomer).press(changed["message_id"], route::accept_terms(1));
  ASSERT_TRUE(eventually([&] { return chat(newcomer).count_with("The terms of service have changed") == 2; }));
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE id = 7101 AND rules_accepted_version = 1"), 1);
  before = bot_messages_of(telegram, newcomer).size();
  chat(newcomer).press(changed["message_id"], route::accept_terms(2));
  ASSERT_TRUE(eventually([&] {
    return bot_messages_of(telegram, newcomer).size() > before &&
           chat(newcomer).last().value("text", "").find("Main menu") != std::string::npos;
  })) << bot_messages_of(telegram, newcomer);
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE id = 7101 AND rules_accepted_version = 2"), 1);
  EXPECT_EQ(chat(newcomer).count_with("a friend's invitation"), 1) << "not welcomed twice";
  EXPECT_EQ(chat(admin).count_with("joined by your invitation"), 1) << "the inviter told once";
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE state = 'failed'"), 0);
  serve2.signal(SIGTERM);
  EXPECT_EQ(serve2.wait(Millis(30000)), 0);
}

// Required channels: the shop waits for the user to join (getChatMember through the emulator), "I've subscribed"
// asks again, a membership is trusted for a while (no call per button), a channel Telegram will not tell about is
// not held against the user; after leaving, "suspend_purchases" asks again once the cached answer is old, and
// "ignore" lets a user who passed once buy without asking Telegram.
TEST_F(GatesTest, RequiredChannelGatesTheShopUntilJoinedAndFollowsTheLeavePolicy) {
  BotRig bot(*this, "10.33.0.0/24", "channels-test-secret");
  auto& telegram = bot.telegram;
  auto& e = bot.env;
  telegram.client("/client/channel", {{"channel", "@vpn_news"}});
  e["VPNBOT_REQUIRED_CHANNELS"] = "@vpn_news,@gone_channel";  // the second does not exist: Telegram says so
  e["VPNBOT_CHANNEL_CHECK_CACHE_MS"] = "60000";
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto& serve = bot.serve;
  constexpr int64_t reader = 7201, other = 7202;
  ChatUser user{telegram, reader};
  auto member_calls = [&] { return telegram.stats()["calls"].value("getChatMember", 0); };
  auto answers = [&](int64_t id) {
    return telegram.client("/client/callback_answers?user_id=" + std::to_string(id))["answers"];
  };
  user.say("/start");
  ASSERT_TRUE(eventually([&] { return user.find("Main menu").has_value(); })) << serve.output().substr(0, 3000);
  int64_t menu = user.find("Main menu")->at("message_id");

  user.press(menu, route::screen("buy"));
  ASSERT_TRUE(eventually([&] { return user.find("Join our channel first").has_value(); }))
      << user.messages() << serve.output().substr(0, 3000);
  json gate = *user.find("Join our channel first");
  EXPECT_EQ(gate["message_id"], menu) << "the gate takes the menu's place";
  EXPECT_EQ(gate["reply_markup"]["inline_keyboard"][0][0]["url"], "https://t.me/vpn_news") << gate.dump();
  EXPECT_EQ(gate["reply_markup"]["inline_keyboard"].size(), 4u) << "two channels, I've subscribed, back";
  EXPECT_EQ(gate["reply_markup"]["inline_keyboard"][2][0]["callback_data"], route::channels_joined());
  ASSERT_TRUE(eventually([&] { return answers(reader).size() == 1; }));
  EXPECT_EQ(answers(reader)[0]["text"], "Please join our channel first.");
  int calls = member_calls();
  EXPECT_EQ(calls, 2) << "one read per channel";
  EXPECT_NE(serve.output().find("getChatMember refused"), std::string::npos) << "the missing channel is logged";

  // "I've subscribed" before joining: asked again, an alert, still the gate.
  user.press(menu, route::channels_joined());
  ASSERT_TRUE(eventually([&] { return answers(reader).size() == 2; }));
  EXPECT_NE(answers(reader)[1]["text"].get<std::string>().find("not joined every channel"), std::string::npos);
  EXPECT_TRUE(answers(reader)[1]["show_alert"].get<bool>());
  EXPECT_GT(member_calls(), calls) << "a fresh read, not the cache";
  // Joined: the shop.
  telegram.client("/client/channel/join", {{"channel", "@vpn_news"}, {"user_id", reader}});
  user.press(menu, route::channels_joined());
  ASSERT_TRUE(eventually([&] { return user.find("<b>Plans</b>").has_value(); })) << user.messages();
  EXPECT_EQ(count("SELECT count(*) FROM users WHERE id = 7201 AND channels_passed_at IS NOT NULL"), 1);
  // Trusted for a while: the shop again without asking Telegram.
  calls = member_calls();
  user.press(menu, route::screen("menu"));
  ASSERT_TRUE(eventually([&] { return user.find("Main menu").has_value(); }));
  user.press(menu, route::screen("buy"));
  ASSERT_TRUE(eventually([&] { return user.find("<b>Plans</b>").has_value(); }));
  EXPECT_EQ(member_calls(), calls);
  // Another user of the same channel can buy as soon as they have joined: no gate at all.
  telegram.client("/client/channel/join", {{"channel", "@vpn_news"}, {"user_id", other}});
  ChatUser second{telegram, other};
  second.say("/start");
  ASSERT_TRUE(eventually([&] { return second.find("Main menu").has_value(); }));
  second.press(second.find("Main menu")->at("message_id"), route::screen("buy"));
  ASSERT_TRUE(eventually([&] { return second.find("<b>Plans</b>").has_value(); })) << second.messages();
  serve.signal(SIGTERM);
  ASSERT_EQ(serve.wait(Millis(30000)), 0);

  // suspend_purchases: the reader leaves; once the cached answer is older than the (now one-second) cache, the shop
  // asks again and shows the gate.
  telegram.client("/client/channel/leave", {{"channel", "@vpn_news"}, {"user_id", reader}});
  e["VPNBOT_CHANNEL_CHECK_CACHE_MS"] = "1000";
  auto serve2 = spawn(e, "gateway,worker,scheduler", "all-in-one");
  wait_healthy(bot.port, serve2);
  ASSERT_TRUE(eventually([&] {
    return count(
               "SELECT count(*) FROM channel_checks WHERE user_id = 7201 AND checked_at < now() - "
               "interval '1 second'") == 2;
  }));
  user.press(menu, route::screen("menu"));
  ASSERT_TRUE(eventually([&] { return user.find("Main menu").has_value(); }));
  user.press(menu, route::screen("buy"));
  ASSERT_TRUE(eventually([&] { return user.find("Join our channel first").has_value(); })) << user.messages();
  serve2.signal(SIGTERM);
  ASSERT_EQ(serve2.wait(Millis(30000)), 0);

  // ignore: the second user leaves too, and still buys (passed once); Telegram is not asked.
  telegram.client("/client/channel/leave", {{"channel", "@vpn_news"}, {"user_id", other}});
  e["VPNBOT_CHANNEL_LEFT_POLICY"] = "ignore";
  auto serve3 = spawn(e, "gateway,worker,scheduler", "all-in-one");
  wait_healthy(bot.port, serve3);
  calls = member_calls();
  int64_t second_menu = second.last()["message_id"];
  second.press(second_menu, route::screen("menu"));
  ASSERT_TRUE(eventually([&] { return second.find("Main menu").has_value(); }));
  second.press(second_menu, route::screen("buy"));
  ASSERT_TRUE(eventually([&] { return second.find("<b>Plans</b>").has_value(); })) << second.messages();
  EXPECT_EQ(member_calls(), calls) << "passed once: not asked again";
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE state = 'failed'"), 0);
  serve3.signal(SIGTERM);
  EXPECT_EQ(serve3.wait(Millis(30000)), 0);
}

// Every screen a button opens, the steps of a purchase and a top-up, and every page of the admin panel, in every
// language, rendered through the emulator's Bot API rules (HTML parsed as Telegram parses it, lengths, buttons):
// Telegram refuses none of them.
TEST_F(GatesTest, EveryScreenAndAdminPageRendersInEveryLanguage) {
  BotRig bot(*this, "10.36.0.0/24", "screens-test-secret");
  auto& telegram = bot.telegram;
  // A user and an admin per language: Telegram's one message a second per chat paces each chat's screens, so the
  // languages go side by side.
  const std::vector<std::string> languages{"en", "ru", "uk", "zh"};
  auto admin_of = [](size_t i) { return int64_t{7600} + 10 * static_cast<int64_t>(i); };
  auto user_of = [](size_t i) { return int64_t{7601} + 10 * static_cast<int64_t>(i); };
  std::string admins;
  for (size_t i = 0; i < languages.size(); ++i) admins += (i ? "," : "") + std::to_string(admin_of(i));
  bot.env["VPNBOT_ADMIN_IDS"] = admins;
  bot.env["VPNBOT_BUDGET_UPDATES_PER_MINUTE"] = "1000";  // a tester's pace, not a flood
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto [added, added_output] = bot.admin({"traffic", "add", "--gb", "10", "--price-rub", "49", "--price-stars", "25"});
  ASSERT_EQ(added, 0) << added_output;
  int64_t package = count("SELECT max(id) FROM traffic_packages");
  auto chat = [&](int64_t id) { return ChatUser{telegram, id}; };
  for (size_t i = 0; i < languages.size(); ++i) {
    chat(user_of(i)).say("/start");
    chat(admin_of(i)).say("/start");
  }
  for (size_t i = 0; i < languages.size(); ++i) {
    ASSERT_TRUE(eventually([&] { return chat(user_of(i)).find("Main menu") && chat(admin_of(i)).find("Main menu"); }))
        << bot.serve.output().substr(0, 3000);
    auto [granted, granted_output] = bot.admin({"user", "grant-days", std::to_string(user_of(i)), "30"});
    ASSERT_EQ(granted, 0) << granted_output;
  }
  std::vector<std::string> admin_pages{"home",   "st",     "find",   "plans", "padd",    "pedit",
                                       "promos", "poadd",  "nodes",  "bc",    "audit",   "mt",
                                       "grp",    "grpadd", "grpset", "gifts", "tickets", "trf"};
  // Each chat's menu, read before any press edits it away.
  std::map<int64_t, int64_t> menu_of;
  for (size_t i = 0; i < languages.size(); ++i)
    for (int64_t who : {user_of(i), admin_of(i)}) menu_of[who] = chat(who).find("Main menu")->at("message_id");
  // Pressed at once, chats side by side.
  int presses = 0, answers_before = telegram.stats()["callback_answers"].get<int>();
  auto press = [&](int64_t who, const std::string& data) {
    chat(who).press(menu_of.at(who), data);
    ++presses;
  };
  // Each chat's language first, applied before its screens are pressed (two updates pressed at once may reach the
  // bot's webhook in either order).
  for (size_t i = 0; i < languages.size(); ++i) {
    press(user_of(i), route::language(languages[i]));
    press(admin_of(i), route::language(languages[i]));
  }
  ASSERT_TRUE(eventually([&] {
    for (size_t i = 0; i < languages.size(); ++i)
      if (count("SELECT count(*) FROM users WHERE id IN (" + std::to_string(user_of(i)) + ", " +
                std::to_string(admin_of(i)) + ") AND language = '" + languages[i] + "'") != 2)
        return false;
    return true;
  }));
  for (size_t i = 0; i < languages.size(); ++i) {
    int64_t user = user_of(i), admin = admin_of(i);
    for (auto screen : route::screen_ids()) press(user, route::screen(screen));
    for (const auto& data : {route::plan(1), route::plan(1, true), route::payment_method(1, "yookassa"),
                             route::payment_method(1, "stars", false, true), route::traffic_package(package)})
      press(user, data);
    for (const auto& page : admin_pages) press(admin, route::admin({page}));
    press(admin, route::admin({"u", std::to_string(user)}));
  }
  ASSERT_TRUE(eventually([&] { return telegram.stats()["callback_answers"].get<int>() - answers_before == presses; }))
      << telegram.stats().dump();
  ASSERT_TRUE(
      eventually([&] { return count("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')") == 0; }));
  json stats = telegram.stats();
  EXPECT_EQ(stats["bad_requests"].get<int>(), 0) << stats["last_bad_requests"].dump(2);
  EXPECT_GE(stats["calls"].value("editMessageText", 0), presses / 2) << "the screens were shown";
  // The admin panel speaks the admin's language too.
  const std::vector<std::string> panel_titles{"Admin panel", "Админ-панель", "Адмін-панель", "管理面板"};
  for (size_t i = 0; i < languages.size(); ++i)
    EXPECT_GE(count("SELECT count(*) FROM outbox WHERE chat_id = " + std::to_string(admin_of(i)) +
                    " AND payload->>'text' LIKE '%" + panel_titles[i] + "%'"),
              1)
        << languages[i] << ": "
        << vpnbot::testing::query_value_sync(url,
                                             "SELECT string_agg(left(payload->>'text', 40), ' | ' ORDER BY id) FROM "
                                             "outbox WHERE chat_id = " +
                                                 std::to_string(admin_of(i)));
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state <> 'sent'"), 0)
      << vpnbot::testing::query_value_sync(url,
                                           "SELECT string_agg(state || ': ' || coalesce(last_error, ''), '; ') "
                                           "FROM outbox WHERE state <> 'sent'");
  bot.serve.signal(SIGTERM);
  EXPECT_EQ(bot.serve.wait(Millis(30000)), 0);
}
