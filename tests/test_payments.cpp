// Payments end to end: the real binary (gateway + worker processes) against the YooKassa, Heleket and Crypto Pay
// emulators and the Telegram emulator. Duplicated, shuffled webhooks across three workers with one killed
// mid-batch; forged, foreign and mismatched notifications; answers lost after the provider did the work; Telegram
// Stars through the bot with a refund by the admin CLI.
#include "support/shop_rig.hpp"

class PaymentsTest : public vpnbot::testing::ShopRig {};

TEST_F(PaymentsTest, TwentyShuffledCopiesOfFiveHundredPaymentsAcrossThreeWorkersWithAKillGrantEachOnce) {
  constexpr int kOrders = 500, kCopies = 20;
  uint16_t port = vpnbot::testing::free_port();
  PaymentsThread payments(payment_options(port));
  add_node("10.20.0.0/22");
  vpnbot::testing::exec_sync(url, "INSERT INTO users (id, referral_code) VALUES (1, 'inviter')");
  auto e = env(payments, port);
  auto gateway = spawn(e, "gateway", "gateway-1");
  wait_healthy(port, gateway);
  std::vector<vpnbot::testing::Process> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(spawn(e, "worker", "worker-" + std::to_string(i)));
  create_orders(kOrders, 10000, 1);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == kOrders;
  })) << workers[0].output();
  EXPECT_EQ(payments.client("/client/stats")["payments"].get<int>(), kOrders) << "one provider payment per order";

  payments.client("/client/config", {{"concurrency", 32}});
  payments.client("/client/settle_all", {{"provider", "yookassa"}, {"status", "succeeded"}, {"copies", kCopies}});
  payments.client("/client/settle_all", {{"provider", "heleket"}, {"status", "paid"}, {"copies", kCopies}});
  // SIGKILL one worker in the middle of the batch; a replacement starts.
  int64_t paid_at_kill = kill_a_worker_mid_batch_and_finish(workers, e, payments, kOrders);
  EXPECT_LT(paid_at_kill, kOrders) << "the kill happened mid-batch";
  auto stats = payments.client("/client/stats");
  EXPECT_EQ(stats["webhooks_delivered"].get<int>(), kOrders * kCopies) << stats.dump();
  EXPECT_EQ(stats["webhooks_dropped"].get<int>(), 0);
  // Exactly once, everywhere.
  EXPECT_EQ(count("SELECT count(*) FROM payment_events"), kOrders) << "20 copies collapse into one stored event";
  EXPECT_EQ(count("SELECT count(*) FROM payment_events WHERE outcome = 'payment applied'"), kOrders);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), kOrders);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE expires_at NOT BETWEEN now() + interval '32.9 days' AND "
                  "now() + interval '33.1 days'"),
            0)
      << "30 days + the 3-day referral bonus, once";
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE source = 'referral'"), kOrders);
  EXPECT_EQ(count("SELECT balance FROM accounts WHERE user_id = 1"), kOrders * 1990);
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE source = 'cashback'"), kOrders);
  EXPECT_EQ(count("SELECT count(*) FROM accounts a WHERE balance <> (SELECT coalesce(sum(amount), 0) FROM ledger l "
                  "WHERE l.user_id = a.user_id AND l.account = 'balance')"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'dead'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers"), kOrders) << "one config per paid order";
  EXPECT_EQ(count("SELECT count(*) FROM (SELECT node_id, address FROM vpn_peers GROUP BY 1, 2 HAVING count(*) > 1) d"),
            0);
  stop_all(gateway, workers);
}

TEST_F(PaymentsTest, ForgedForeignAndMismatchedNotificationsGrantNothing) {
  uint16_t port = vpnbot::testing::free_port();
  PaymentsThread payments(payment_options(port));
  auto e = env(payments, port);
  auto gateway = spawn(e, "gateway", "gateway-1");
  wait_healthy(port, gateway);
  auto worker = spawn(e, "worker", "worker-1");
  auto ids = create_orders(4, 500, std::nullopt);  // yookassa, heleket, yookassa, heleket
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == 4;
  })) << worker.output();
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::vector<std::string> json_header{"Content-Type: application/json"};

  // Heleket: a body signed with the wrong key, and a genuine body with its amount changed.
  auto heleket_payment = count("SELECT count(*) FROM orders WHERE id = " + std::to_string(ids[1]));
  ASSERT_EQ(heleket_payment, 1);
  std::string uuid = vpnbot::testing::query_value_sync(
      url, "SELECT provider_payment_id FROM orders WHERE id = " + std::to_string(ids[1]));
  nlohmann::ordered_json forged;
  forged["type"] = "payment";
  forged["uuid"] = uuid;
  forged["order_id"] = "vpnbot-" + std::to_string(ids[1]);
  forged["amount"] = "199.00";
  forged["status"] = "paid";
  forged["sign"] = billing::heleket_sign(billing::php_json_encode(forged), "not-the-key");
  auto r = vpnbot::testing::http_request("POST", base + billing::kHeleketWebhookPath, forged.dump(), json_header);
  EXPECT_EQ(r.first, 400);
  forged.erase("sign");
  forged["sign"] = billing::heleket_sign(billing::php_json_encode(forged), payments.options().heleket_api_key);
  forged["amount"] = "1.00";  // tampered after signing
  r = vpnbot::testing::http_request("POST", base + billing::kHeleketWebhookPath, forged.dump(), json_header);
  EXPECT_EQ(r.first, 400);
  EXPECT_EQ(count("SELECT count(*) FROM payment_rejections WHERE provider = 'heleket' AND reason = 'sign does not "
                  "match'"),
            2);

  // YooKassa: a notification relayed by our proxy for a foreign client address.
  std::string yk_payment = vpnbot::testing::query_value_sync(
      url, "SELECT provider_payment_id FROM orders WHERE id = " + std::to_string(ids[0]));
  json notification{{"type", "notification"},
                    {"event", "payment.succeeded"},
                    {"object", {{"id", yk_payment}, {"status", "succeeded"}, {"amount", {{"value", "199.00"}}}}}};
  auto foreign_headers = json_header;
  foreign_headers.push_back("X-Forwarded-For: 203.0.113.7");
  r = vpnbot::testing::http_request("POST", base + billing::kYooKassaWebhookPath, notification.dump(), foreign_headers);
  EXPECT_EQ(r.first, 403);
  EXPECT_EQ(count("SELECT count(*) FROM payment_rejections WHERE provider = 'yookassa' AND source_ip = '203.0.113.7'"),
            1);
  // From an allowed address but lying: the worker asks YooKassa, which says the payment is still pending.
  r = vpnbot::testing::http_request("POST", base + billing::kYooKassaWebhookPath, notification.dump(), json_header);
  EXPECT_EQ(r.first, 200);
  // A notification about a payment YooKassa never made.
  notification["object"]["id"] = "00000000-0000-0000-0000-000000000000";
  r = vpnbot::testing::http_request("POST", base + billing::kYooKassaWebhookPath, notification.dump(), json_header);
  EXPECT_EQ(r.first, 200);
  r = vpnbot::testing::http_request("POST", base + billing::kYooKassaWebhookPath, "{broken", json_header);
  EXPECT_EQ(r.first, 400);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM payment_events WHERE outcome LIKE 'provider refused%'") == 1;
  })) << worker.output().substr(0, 3000);

  // Mismatches: the order's price changed after the YooKassa payment was made (YooKassa confirms 199 ₽), and a
  // correctly signed Heleket notice for a different amount.
  vpnbot::testing::exec_sync(url, "UPDATE orders SET amount = amount + 100 WHERE id = " + std::to_string(ids[2]));
  payments.client("/client/settle",
                  {{"provider", "yookassa"}, {"order_id", std::to_string(ids[2])}, {"status", "succeeded"}});
  payments.client("/client/settle", {{"provider", "heleket"},
                                     {"order_id", "vpnbot-" + std::to_string(ids[3])},
                                     {"status", "paid"},
                                     {"amount", "99.00"}});
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM orders WHERE state = 'mismatch'") == 2; }))
      << worker.output().substr(0, 3000);
  std::this_thread::sleep_for(Millis(1500));  // give the lying notification its chance
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE state = 'paid'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), 0) << "nothing granted";
  EXPECT_EQ(count("SELECT count(*) FROM ledger"), 0);

  // And the genuine payment of order 0 still works afterwards.
  payments.client(
      "/client/settle",
      {{"provider", "yookassa"}, {"order_id", std::to_string(ids[0])}, {"status", "succeeded"}, {"copies", 3}});
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM orders WHERE state = 'paid'") == 1; }));
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), 1);
  // A refund at YooKassa reverses it (the notification is confirmed through GET /v3/refunds).
  payments.client("/client/refund", {{"provider", "yookassa"}, {"order_id", std::to_string(ids[0])}, {"copies", 2}});
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM orders WHERE state = 'refunded'") == 1; }));
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE expires_at > now() + interval '1 hour'"), 0);
  gateway.signal(SIGTERM);
  worker.signal(SIGTERM);
  EXPECT_EQ(gateway.wait(Millis(20000)), 0);
  EXPECT_EQ(worker.wait(Millis(20000)), 0);
}

// The whole purchase in the bot, as a user does it: Stars (invoice, pre-checkout, successful payment, a replayed
// payment update, an admin refund through the CLI) and a card payment through YooKassa's checkout page.
TEST_F(PaymentsTest, BotCheckoutWithStarsAndYooKassaThenAdminRefund) {
  BotRig bot(*this, "10.30.0.0/24", "payments-test-secret");
  auto& telegram = bot.telegram;
  auto& e = bot.env;
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto& serve = bot.serve;
  constexpr int64_t user = 4242;
  auto bot_messages = [&] { return bot_messages_of(telegram, user); };
  auto find = [&](const std::function<bool(const json&)>& match) -> std::optional<json> {
    for (auto& m : bot_messages())
      if (match(m)) return m;
    return std::nullopt;
  };
  auto text_has = [](const std::string& needle) {
    return [needle](const json& m) { return shown_text(m).find(needle) != std::string::npos; };
  };
  telegram.client("/client/send_message", {{"user_id", user}, {"first_name", "Buyer"}, {"text", "/start"}});
  ASSERT_TRUE(eventually([&] { return find(text_has("Main menu")).has_value(); })) << serve.output().substr(0, 3000);
  int64_t menu = find(text_has("Main menu"))->at("message_id");
  auto press = [&](const std::string& data) {
    telegram.client("/client/press", {{"user_id", user}, {"message_id", menu}, {"data", data}});
  };

  // Stars: confirm -> invoice -> Pay -> pre-checkout answered -> successful_payment -> receipt + config.
  press(route::pay(1, "stars"));
  ASSERT_TRUE(eventually([&] { return find([](const json& m) { return m.contains("invoice"); }).has_value(); }));
  auto invoice = *find([](const json& m) { return m.contains("invoice"); });
  EXPECT_EQ(invoice["invoice"]["currency"], "XTR");
  EXPECT_EQ(invoice["invoice"]["prices"][0]["amount"], 100);
  telegram.client("/client/pay", {{"user_id", user}, {"message_id", invoice["message_id"]}});
  ASSERT_TRUE(eventually([&] { return find(text_has("Payment received")).has_value(); }))
      << serve.output().substr(0, 4000);
  ASSERT_TRUE(eventually([&] { return find([](const json& m) { return m.contains("document"); }).has_value(); }))
      << "the first config arrives with the first payment";
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE state = 'paid' AND provider = 'stars'"), 1);
  {
    // Once delivered, nothing of the .conf rests in plaintext: not its PrivateKey, not the file as the outbox kept
    // it (base64), in no column of any table; and the bot token is nowhere either.
    int64_t document = find([](const json& m) { return m.contains("document"); })->at("message_id");
    std::string conf =
        vpnbot::testing::http_request("GET",
                                      telegram.base_url() + "/client/file?chat_id=" + std::to_string(user) +
                                          "&message_id=" + std::to_string(document),
                                      "")
            .second;
    auto key_at = conf.find("PrivateKey = ");
    ASSERT_NE(key_at, std::string::npos) << conf;
    std::string private_key = conf.substr(key_at + 13, 44);
    ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM outbox WHERE files IS NOT NULL") == 0; }))
        << "delivered files are dropped";
    EXPECT_EQ(vpnbot::testing::columns_containing(url, private_key), "");
    EXPECT_EQ(vpnbot::testing::columns_containing(url, to_base64(conf).substr(0, 200)), "");
    EXPECT_EQ(vpnbot::testing::columns_containing(url, telegram.token()), "");
  }
  std::string charge = vpnbot::testing::query_value_sync(url, "SELECT provider_payment_id FROM orders WHERE id = 1");
  // The same successful payment delivered again as a new update: nothing more is granted.
  json replay{{"message",
               {{"message_id", 999},
                {"date", 1700000000},
                {"chat", {{"id", user}, {"type", "private"}}},
                {"from", {{"id", user}, {"is_bot", false}, {"first_name", "Buyer"}}},
                {"successful_payment",
                 {{"currency", "XTR"},
                  {"total_amount", 100},
                  {"invoice_payload", "order:1"},
                  {"telegram_payment_charge_id", charge},
                  {"provider_payment_charge_id", ""}}}}}};
  telegram.client("/client/raw_update", replay);
  ASSERT_TRUE(
      eventually([&] { return count("SELECT count(*) FROM tg_inbox WHERE state IN ('pending','running')") == 0; }));
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE expires_at BETWEEN now() + interval '29.9 days' AND now() "
                  "+ interval '30.1 days'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM ledger WHERE source = 'cashback'"), 1);

  // Card via YooKassa: confirm -> link -> the emulator's checkout page -> Pay -> receipt with the new expiry.
  press(route::pay(1, "yookassa"));
  ASSERT_TRUE(eventually([&] { return find(text_has("Tap the button to pay")).has_value(); }))
      << serve.output().substr(0, 4000);
  std::string checkout = find(text_has("Tap the button to pay"))->at("reply_markup")["inline_keyboard"][0][0]["url"];
  auto page = vpnbot::testing::http_request("GET", checkout, "");
  EXPECT_EQ(page.first, 200);
  EXPECT_NE(page.second.find("199.00"), std::string::npos);
  auto paid = vpnbot::testing::http_request("POST", checkout + "/pay", "");
  EXPECT_NE(paid.second.find("Payment complete"), std::string::npos);
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM orders WHERE state = 'paid'") == 2; }));
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE expires_at BETWEEN now() + interval '59.9 days' AND now() "
                  "+ interval '60.1 days'"),
            1)
      << "the renewal added to the remaining time";
  press(route::screen("sub"));
  ASSERT_TRUE(eventually([&] {
    for (auto& m : bot_messages())
      if (m["message_id"] == menu && m.value("text", "").find("Active until") != std::string::npos) return true;
    return false;
  }));

  // The admin refunds the Stars order: the worker calls refundStarPayment, then the days are taken back.
  auto admin = vpnbot::testing::spawn_vpnbot({"admin", "order", "refund", "1", "--note", "asked by the user"}, e);
  EXPECT_EQ(admin.wait(Millis(20000)), 0) << admin.output();
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM orders WHERE state = 'refunded'") == 1; }))
      << serve.output().substr(0, 4000);
  EXPECT_EQ(telegram.stats()["calls"].value("refundStarPayment", 0), 1);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE expires_at BETWEEN now() + interval '29.9 days' AND now() "
                  "+ interval '30.1 days'"),
            1);
  ASSERT_TRUE(eventually([&] { return find(text_has("was refunded")).has_value(); }));
  auto again = vpnbot::testing::spawn_vpnbot({"admin", "order", "refund", "1"}, e);
  EXPECT_EQ(again.wait(Millis(20000)), 1) << "already refunded: " << again.output();
  // A user banned between the invoice and the payment: the money that arrived is recorded all the same (the ban's
  // policy, configs kept off, applies where access is granted).
  press(route::pay(1, "stars"));
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE state = 'pending' AND provider = 'stars'") == 1;
  })) << serve.output().substr(0, 3000);
  int64_t unpaid = count("SELECT id FROM orders WHERE state = 'pending' AND provider = 'stars'");
  vpnbot::testing::exec_sync(url, "UPDATE users SET banned = true WHERE id = 4242");
  json paid_while_banned = replay;
  paid_while_banned["message"]["message_id"] = 1001;
  paid_while_banned["message"]["successful_payment"]["invoice_payload"] = "order:" + std::to_string(unpaid);
  paid_while_banned["message"]["successful_payment"]["telegram_payment_charge_id"] = "charge-while-banned";
  telegram.client("/client/raw_update", paid_while_banned);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE state = 'paid' AND id = " + std::to_string(unpaid)) == 1;
  })) << serve.output().substr(0, 3000);
  vpnbot::testing::exec_sync(url, "UPDATE users SET banned = false WHERE id = 4242");

  // Bad arguments: a clear message and exit code 2, nothing changed.
  for (std::vector<std::string> bad :
       {std::vector<std::string>{"admin", "promo", "add", "--code", "X1X", "--kind", "fixed", "--value", "ten"},
        {"admin", "plan", "add", "--code", "p"},
        {"admin", "broadcast", "create", "--text", "hi", "--audience", "martians"},
        {"admin", "user", "balance", "4242", "1.234", "--reason", "x"},
        {"admin", "order", "refund", "not-a-number"}}) {
    auto p = vpnbot::testing::spawn_vpnbot(bad, e);
    EXPECT_EQ(p.wait(Millis(20000)), 2) << bad[1] << " " << bad[2] << ": " << p.output();
    EXPECT_FALSE(p.output().empty()) << "the reason is printed";
  }
  EXPECT_EQ(count("SELECT count(*) FROM promo_codes"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'failed'"), 0);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(30000)), 0);
}

// Gifts and promo groups through the bot: an admin makes a group and a group code (CLI); the buyer enters the code,
// sees the personal discount at checkout, buys the plan as a gift by card and gets a link and a code instead of
// days; the first user to open the link gets the days and a config, the buyer is told; a later link or typed code
// is refused; the CLI lists the gift and shows it on both users' cards.
TEST_F(PaymentsTest, GiftBoughtAtAGroupDiscountIsRedeemedOnceByLinkOrCode) {
  BotRig bot(*this, "10.34.0.0/24", "gifts-test-secret");
  auto& telegram = bot.telegram;
  auto& e = bot.env;
  auto admin = [&bot](std::vector<std::string> args) { return bot.admin(std::move(args)); };
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto& serve = bot.serve;
  auto made = admin({"group", "add", "friends", "--percent", "20"});
  ASSERT_EQ(made.first, 0) << made.second;
  auto code = admin({"promo", "add", "--code", "FRIENDS", "--kind", "group", "--group", "friends", "--max-uses", "5"});
  ASSERT_EQ(code.first, 0) << code.second;
  EXPECT_EQ(admin({"promo", "add", "--code", "NOGROUP", "--kind", "group"}).first, 2) << "kind group needs --group";
  EXPECT_EQ(admin({"group", "add", "greedy", "--percent", "95"}).first, 2);
  EXPECT_NE(admin({"group", "assign", "1", "--group", "nosuch"}).first, 0);

  constexpr int64_t buyer_id = 7301, friend_id = 7302, late_id = 7303;
  ChatUser buyer{telegram, buyer_id}, recipient{telegram, friend_id}, late{telegram, late_id};
  buyer.say("/start");
  ASSERT_TRUE(eventually([&] { return buyer.find("Main menu").has_value(); })) << serve.output().substr(0, 3000);
  int64_t menu = buyer.find("Main menu")->at("message_id");
  buyer.press(menu, route::screen("promo"));
  ASSERT_TRUE(eventually([&] { return buyer.find("Send the promo code").has_value(); }));
  buyer.say("friends");
  ASSERT_TRUE(eventually([&] { return buyer.find("personal discount: 20%").has_value(); })) << buyer.messages();
  EXPECT_EQ(count("SELECT count(*) FROM users u JOIN promo_groups g ON g.id = u.promo_group_id WHERE u.id = 7301"), 1);

  // The plan as a gift: the note, the group's discount, no welcome bonus, a way back to buying for oneself.
  buyer.press(menu, route::plan(1, true));
  ASSERT_TRUE(eventually([&] { return buyer.find("A gift.").has_value(); })) << buyer.messages();
  json plan = *buyer.find("A gift.");
  EXPECT_NE(plan["text"].get<std::string>().find("Personal discount 20%: −39.80 ₽"), std::string::npos) << plan;
  EXPECT_NE(plan["text"].get<std::string>().find("159.20 ₽"), std::string::npos) << plan;
  EXPECT_NE(plan.dump().find("Buy for myself"), std::string::npos);
  buyer.press(menu, route::pay(1, "yookassa", false, true));
  ASSERT_TRUE(eventually([&] { return buyer.find("Tap the button to pay").has_value(); }))
      << buyer.messages() << serve.output().substr(0, 4000);
  std::string checkout = buyer.find("Tap the button to pay")->at("reply_markup")["inline_keyboard"][0][0]["url"];
  auto page = vpnbot::testing::http_request("GET", checkout, "");
  EXPECT_NE(page.second.find("159.20"), std::string::npos) << "the card is charged the discounted price";
  auto paid = vpnbot::testing::http_request("POST", checkout + "/pay", "");
  EXPECT_NE(paid.second.find("Payment complete"), std::string::npos) << paid.second;
  ASSERT_TRUE(eventually([&] { return buyer.find("Your gift").has_value(); }))
      << buyer.messages()
      << vpnbot::testing::query_value_sync(url,
                                           "SELECT string_agg(kind || ' ' || state || ' ' || coalesce(last_error, ''), "
                                           "'; ') FROM jobs")
      << vpnbot::testing::query_value_sync(url,
                                           "SELECT string_agg(method || ' ' || state || ' ' || coalesce(last_error, "
                                           "''), '; ') FROM outbox");
  std::string ready = buyer.find("Your gift")->at("text");
  std::smatch link;
  ASSERT_TRUE(std::regex_search(ready, link, std::regex("start=gift_([A-Z0-9]{12})"))) << ready;
  std::string gift_code = link[1];
  EXPECT_NE(ready.find("<code>" + gift_code + "</code>"), std::string::npos);
  EXPECT_NE(buyer.find("Your gift")->dump().find("t.me/share/url"), std::string::npos) << "a share button";
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id = 7301"), 0) << "the buyer gets no days";
  EXPECT_EQ(count("SELECT group_discount_rub FROM orders WHERE gift"), 3980);

  // The friend opens the link: welcome, the days, a config; the buyer is told.
  recipient.say("/start gift_" + gift_code);
  ASSERT_TRUE(eventually([&] { return recipient.find("A gift for you").has_value(); })) << recipient.messages();
  ASSERT_TRUE(eventually([&] {
    for (auto& m : recipient.messages())
      if (m.contains("document")) return true;
    return false;
  })) << "the first config comes with the gift";
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id = 7302 AND expires_at > now() + interval '29.9 "
                  "days'"),
            1);
  ASSERT_TRUE(eventually([&] { return buyer.find("has redeemed your gift").has_value(); })) << buyer.messages();
  // Too late by link, by typed code (with a dash, lower case), and the recipient again.
  late.say("/start");
  ASSERT_TRUE(eventually([&] { return late.find("Main menu").has_value(); }));
  late.press(late.find("Main menu")->at("message_id"), route::screen("promo"));
  ASSERT_TRUE(eventually([&] { return late.find("Send the promo code").has_value(); }));
  std::string typed = gift_code.substr(0, 6) + "-" + gift_code.substr(6);
  for (auto& c : typed) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  late.say(typed);
  ASSERT_TRUE(eventually([&] { return late.find("already been redeemed").has_value(); })) << late.messages();
  late.say("/start gift_" + gift_code);
  ASSERT_TRUE(eventually([&] { return late.count_with("already been redeemed") == 2; })) << late.messages();
  recipient.say("/start gift_" + gift_code);
  ASSERT_TRUE(eventually([&] { return recipient.find("already yours").has_value(); }));
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 7302"), 1);

  // The operator's view.
  auto gifts = admin({"--json", "gift", "list"});
  ASSERT_EQ(gifts.first, 0) << gifts.second;
  json listed = json::parse(gifts.second.substr(gifts.second.find('[')));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["state"], "redeemed");
  EXPECT_EQ(listed[0]["redeemed_by"], friend_id);
  auto card = admin({"user", "show", "7302"});
  EXPECT_NE(card.second.find("redeemed from 7301"), std::string::npos) << card.second;
  auto buyer_card = admin({"user", "show", "7301"});
  EXPECT_NE(buyer_card.second.find("promo group friends (20% off plans)"), std::string::npos) << buyer_card.second;
  auto out = admin({"group", "assign", "7301", "--none"});
  EXPECT_EQ(out.first, 0) << out.second;
  auto groups = admin({"--json", "group", "list"});
  EXPECT_NE(groups.second.find("\"members\":0"), std::string::npos) << groups.second;
  EXPECT_EQ(count("SELECT count(*) FROM admin_audit WHERE action IN ('create_group', 'assign_group')"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE state = 'failed'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'failed'"), 0);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(30000)), 0);
}

// A WireGuard plan with a traffic allowance: "My subscription" shows the usage with a bar, the reading that crosses
// the quota switches the config off with one notice (a later reading adds none), a traffic package bought with
// Telegram Stars from the notice's button brings the config back (a replayed payment adds nothing), and a refund
// takes the package back. The readings are the agent's own accounting code fed with counter values.
TEST_F(PaymentsTest, WireguardQuotaUsedUpTellsOnceAndATrafficTopUpBroughtWithStarsIsCountedOnce) {
  BotRig bot(*this, "10.35.0.0/24", "traffic-test-secret");
  auto& telegram = bot.telegram;
  auto& e = bot.env;
  auto admin = [&bot](std::vector<std::string> args) { return bot.admin(std::move(args)); };
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto& serve = bot.serve;
  auto set = admin({"plan", "set", "month", "traffic_gb", "1"});
  ASSERT_EQ(set.first, 0) << set.second;
  EXPECT_NE(admin({"plan", "set", "month", "traffic_gb", "lots"}).first, 0);
  auto added = admin({"--json", "traffic", "add", "--gb", "5", "--price-rub", "49", "--price-stars", "25"});
  ASSERT_EQ(added.first, 0) << added.second;
  int64_t package = json::parse(added.second.substr(added.second.find('[')))[0]["id"];
  EXPECT_EQ(admin({"traffic", "add", "--gb", "0", "--price-rub", "49", "--price-stars", "25"}).first, 2);
  EXPECT_EQ(admin({"traffic", "add", "--gb", "5", "--price-rub", "4.9.9", "--price-stars", "25"}).first, 2);
  EXPECT_NE(admin({"traffic", "disable", "999"}).first, 0);
  EXPECT_EQ(count("SELECT count(*) FROM traffic_packages"), 1);

  constexpr int64_t user_id = 7401;
  ChatUser user{telegram, user_id};
  user.say("/start");
  ASSERT_TRUE(eventually([&] { return user.find("Main menu").has_value(); })) << serve.output().substr(0, 3000);
  int64_t menu = user.find("Main menu")->at("message_id");
  auto invoice_of = [&](const std::string& title) -> std::optional<json> {
    for (auto& m : user.messages())
      if (m.contains("invoice") && m["invoice"].value("title", "").find(title) != std::string::npos) return m;
    return std::nullopt;
  };
  user.press(menu, route::pay(1, "stars"));
  ASSERT_TRUE(eventually([&] { return invoice_of("1 month").has_value(); })) << user.messages();
  telegram.client("/client/pay", {{"user_id", user_id}, {"message_id", invoice_of("1 month")->at("message_id")}});
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM vpn_peers WHERE user_id = 7401") == 1; }))
      << serve.output().substr(0, 4000);
  EXPECT_EQ(count("SELECT traffic_limit_bytes FROM subscriptions WHERE user_id = 7401"), vpn::kBytesPerGb);
  std::string key = vpnbot::testing::query_value_sync(url, "SELECT public_key FROM vpn_peers WHERE user_id = 7401");
  int64_t node = count("SELECT node_id FROM vpn_peers WHERE user_id = 7401");
  auto reading = [&](int64_t rx, int64_t tx) {
    std::vector<vpn::PeerCounters> counters{{key, 1700000000, rx, tx}};
    auto pool = make_pool(2);
    return run(pool->transaction([&](db::Transaction& tx_) -> awaitable<std::vector<int64_t>> {
      co_return co_await vpn::Traffic::record(tx_, node, counters);
    }));
  };
  auto screen_shows = [&](const std::string& needle) {
    return eventually([&] {
      for (auto& m : user.messages())
        if (m["message_id"] == menu && shown_text(m).find(needle) != std::string::npos) return true;
      return false;
    });
  };
  const int64_t gb = vpn::kBytesPerGb;
  reading(gb / 2, gb / 10);  // 0.6 GB
  user.press(menu, route::screen("sub"));
  ASSERT_TRUE(screen_shows("WireGuard traffic: ▰▰▰▰▰▰▱▱▱▱ 0.6 of 1.0 GB")) << user.messages();
  EXPECT_NE(user.find("WireGuard traffic")->dump().find("Buy traffic"), std::string::npos);

  // Past the quota: the config goes off, one notice with "Buy traffic" and "Renew".
  EXPECT_EQ(reading(gb, gb / 10), std::vector<int64_t>{user_id});
  ASSERT_TRUE(eventually([&] { return user.find("traffic for this period is used up").has_value(); }))
      << user.messages();
  json notice = *user.find("traffic for this period is used up");
  EXPECT_NE(notice.dump().find(route::screen("trf")), std::string::npos) << notice;
  EXPECT_NE(notice.dump().find("Renew"), std::string::npos) << notice;
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 7401 AND state = 'disabled'"), 1);
  reading(gb + gb / 2, gb / 10);  // more counted (the reading before the agent removed the peer), no new notice
  user.press(menu, route::screen("sub"));
  ASSERT_TRUE(screen_shows("▰▰▰▰▰▰▰▰▰▰ 1.6 of 1.0 GB")) << user.messages();
  ASSERT_TRUE(screen_shows("WireGuard configs are paused"));
  EXPECT_EQ(user.count_with("traffic for this period is used up"), 1);

  // The top-up from the notice's button, paid in Stars.
  user.press(notice["message_id"], route::screen("trf"));
  ASSERT_TRUE(eventually([&] { return user.find("5 GB — 49 ₽ or 25 ⭐").has_value(); })) << user.messages();
  int64_t list = user.find("5 GB — 49 ₽ or 25 ⭐")->at("message_id");
  user.press(list, route::traffic_package(package));
  ASSERT_TRUE(eventually([&] { return user.find("Choose how to pay").has_value(); })) << user.messages();
  user.press(list, route::pay_traffic(package, "stars"));
  ASSERT_TRUE(eventually([&] { return invoice_of("5 GB of traffic").has_value(); }))
      << vpnbot::testing::query_value_sync(url,
                                           "SELECT string_agg(id || ' ' || state || ' ' || provider, '; ') FROM orders")
      << " | "
      << vpnbot::testing::query_value_sync(
             url, "SELECT string_agg(method || ' ' || state || ' ' || coalesce(last_error, ''), '; ') FROM outbox")
      << " | "
      << vpnbot::testing::query_value_sync(
             url, "SELECT string_agg(kind || ' ' || state || ' ' || coalesce(last_error, ''), '; ') FROM tg_inbox");
  json invoice = *invoice_of("5 GB of traffic");
  EXPECT_EQ(invoice["invoice"]["prices"][0]["amount"], 25);
  telegram.client("/client/pay", {{"user_id", user_id}, {"message_id", invoice["message_id"]}});
  ASSERT_TRUE(eventually([&] { return user.find("+5 GB of traffic").has_value(); }))
      << user.messages() << serve.output().substr(0, 4000);
  EXPECT_NE(user.find("+5 GB of traffic")->at("text").get<std::string>().find("1.6 of 6.0 GB"), std::string::npos);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 7401 AND state = 'active'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE traffic_gb = 5 AND days = 0 AND state = 'paid'"), 1);
  // The same successful payment again as a new update: nothing more.
  std::string charge =
      vpnbot::testing::query_value_sync(url, "SELECT provider_payment_id FROM orders WHERE traffic_gb = 5");
  int64_t order = count("SELECT id FROM orders WHERE traffic_gb = 5");
  json replay{{"message",
               {{"message_id", 999},
                {"date", 1700000000},
                {"chat", {{"id", user_id}, {"type", "private"}}},
                {"from", {{"id", user_id}, {"is_bot", false}, {"first_name", "U"}}},
                {"successful_payment",
                 {{"currency", "XTR"},
                  {"total_amount", 25},
                  {"invoice_payload", "order:" + std::to_string(order)},
                  {"telegram_payment_charge_id", charge},
                  {"provider_payment_charge_id", ""}}}}}};
  telegram.client("/client/raw_update", replay);
  ASSERT_TRUE(
      eventually([&] { return count("SELECT count(*) FROM tg_inbox WHERE state IN ('pending','running')") == 0; }));
  EXPECT_EQ(count("SELECT traffic_extra_bytes FROM subscriptions WHERE user_id = 7401"), 5 * gb);
  auto card = admin({"user", "show", "7401"});
  EXPECT_NE(card.second.find("WireGuard traffic this period: 1.6 GB of 6.0 GB"), std::string::npos) << card.second;

  // Refunded: the gigabytes are taken back and the config goes off again (still past the plan's 1 GB).
  auto refund = admin({"order", "refund", std::to_string(order), "--note", "asked"});
  EXPECT_EQ(refund.first, 0) << refund.second;
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM orders WHERE state = 'refunded'") == 1; }))
      << serve.output().substr(0, 4000);
  EXPECT_EQ(count("SELECT traffic_extra_bytes FROM subscriptions WHERE user_id = 7401"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers WHERE user_id = 7401 AND state = 'disabled'"), 1);
  // Taken off sale: the list says so.
  EXPECT_EQ(admin({"traffic", "disable", std::to_string(package)}).first, 0);
  user.press(menu, route::screen("trf"));
  ASSERT_TRUE(screen_shows("No traffic packages are on sale now")) << user.messages();
  EXPECT_EQ(count("SELECT count(*) FROM admin_audit WHERE action LIKE '%traffic_package'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE state = 'failed'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'failed'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'failed'"), 0);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(30000)), 0);
}

// Support tickets through a forum group: the user opens a ticket from the Support screen with a text and a photo;
// the worker makes the ticket's topic and copies both in (with a header saying who the user is); the staff get an
// SLA reminder once; a staff reply in the topic goes back to the user once (a redelivered update changes nothing),
// a message in General is not relayed; /close closes the topic and tells the user; a new message opens ticket #2,
// which the user closes from the button and the staff /reopen; the CLI lists and closes tickets.
TEST_F(PaymentsTest, SupportTicketTravelsBothWaysThroughAForumTopic) {
  BotRig bot(*this, "10.36.0.0/24", "support-test-secret");
  auto& telegram = bot.telegram;
  auto& e = bot.env;
  constexpr int64_t kGroup = -1001234567890, kStaff = 555001, kUser = 7401;
  telegram.client("/client/forum", {{"chat_id", kGroup}, {"title", "VPN support"}});
  e["VPNBOT_SUPPORT_CHAT_ID"] = std::to_string(kGroup);
  e["VPNBOT_SUPPORT_SLA_MINUTES"] = "2";
  e["VPNBOT_SCHEDULER_TIME_SCALE"] = "120";  // two minutes of waiting in one second
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto& serve = bot.serve;
  auto forum = [&] { return telegram.client("/client/forum/state?chat_id=" + std::to_string(kGroup)); };
  auto topic_messages = [&](int64_t thread) {
    json out = json::array();
    json state = forum();  // a named copy: a range-for over a temporary's member would dangle
    for (auto& m : state["messages"])
      if (m.value("message_thread_id", int64_t{0}) == thread) out.push_back(m);
    return out;
  };
  auto staff_says = [&](int64_t thread, const std::string& text) {
    json post{{"chat_id", kGroup}, {"user_id", kStaff}, {"first_name", "Olga"}, {"text", text}};
    if (thread) post["thread_id"] = thread;
    return telegram.client("/client/forum/post", post);
  };
  ChatUser user{telegram, kUser};
  user.say("/start");
  ASSERT_TRUE(eventually([&] { return user.find("Main menu").has_value(); })) << serve.output().substr(0, 3000);
  int64_t menu = user.find("Main menu")->at("message_id");
  EXPECT_NE(user.find("Main menu")->dump().find(route::screen("support")), std::string::npos) << "the Support button";
  user.press(menu, route::screen("support"));
  ASSERT_TRUE(eventually([&] { return user.find("Describe your problem").has_value(); })) << user.messages();
  user.say("My VPN does not connect on LTE");
  ASSERT_TRUE(eventually([&] { return user.find("Ticket #1 is open").has_value(); })) << user.messages();
  telegram.client("/client/send_message", {{"user_id", kUser}, {"photo", "PNG-bytes"}, {"caption", "the error"}});

  // The topic, its header, then the text and the photo, in order.
  ASSERT_TRUE(eventually([&] {
    return forum()["topics"].size() == 1 && topic_messages(forum()["topics"][0]["message_thread_id"]).size() >= 3;
  })) << forum()
      << serve.output().substr(0, 4000);
  int64_t topic = forum()["topics"][0]["message_thread_id"];
  EXPECT_EQ(forum()["topics"][0]["name"], "#1 U");
  auto in_topic = topic_messages(topic);
  EXPECT_NE(in_topic[0].value("text", "").find("Ticket #1"), std::string::npos) << in_topic[0];
  EXPECT_NE(in_topic[0].value("text", "").find("7401"), std::string::npos) << "who the user is";
  EXPECT_EQ(in_topic[1].value("text", ""), "My VPN does not connect on LTE");
  EXPECT_TRUE(in_topic[2].contains("photo")) << in_topic[2];
  EXPECT_EQ(in_topic[2].value("caption", ""), "the error");
  // Nobody answered within the SLA: one reminder in the topic for this wait.
  ASSERT_TRUE(eventually([&] {
    for (auto& m : topic_messages(topic))
      if (m.value("text", "").find("waiting for an answer") != std::string::npos) return true;
    return false;
  })) << topic_messages(topic);

  // The staff answer in the topic: the user gets it, once, even when Telegram delivers the update again.
  auto answer = staff_says(topic, "Switch to the Netherlands location and try again");
  staff_says(0, "coffee anyone?");  // General: not a ticket
  ASSERT_TRUE(eventually([&] { return user.find("Switch to the Netherlands").has_value(); })) << user.messages();
  json again{{"message",
              {{"message_id", answer["message_id"]},
               {"date", 1700000000},
               {"chat", {{"id", kGroup}, {"type", "supergroup"}, {"title", "VPN support"}, {"is_forum", true}}},
               {"from", {{"id", kStaff}, {"is_bot", false}, {"first_name", "Olga"}}},
               {"message_thread_id", topic},
               {"is_topic_message", true},
               {"text", "Switch to the Netherlands location and try again"}}}};
  telegram.client("/client/raw_update", again);
  user.say("Works now, thanks");
  ASSERT_TRUE(eventually([&] { return topic_messages(topic).back().value("text", "") == "Works now, thanks"; }))
      << topic_messages(topic);
  ASSERT_TRUE(
      eventually([&] { return count("SELECT count(*) FROM tg_inbox WHERE state IN ('pending','running')") == 0; }));
  EXPECT_EQ(user.count_with("Switch to the Netherlands"), 1) << "relayed once";
  EXPECT_EQ(user.count_with("coffee"), 0) << "General is not a ticket";
  int reminders = 0;
  for (auto& m : topic_messages(topic))
    reminders += m.value("text", "").find("waiting for an answer") != std::string::npos;
  EXPECT_EQ(reminders, 1) << "one reminder per wait";

  // The staff close it: the topic closes and the user is told; the next message opens ticket #2 in a new topic.
  staff_says(topic, "/close");
  ASSERT_TRUE(eventually([&] { return user.find("Support closed ticket #1").has_value(); }))
      << user.messages() << serve.output();
  ASSERT_TRUE(eventually([&] { return forum()["topics"][0]["closed"].get<bool>(); })) << forum();
  user.press(user.last()["message_id"], route::screen("support"));
  ASSERT_TRUE(eventually([&] { return user.count_with("Describe your problem") == 2; })) << user.messages();
  user.say("It broke again");
  ASSERT_TRUE(eventually([&] { return user.find("Ticket #2 is open").has_value(); })) << user.messages();
  ASSERT_TRUE(eventually([&] { return forum()["topics"].size() == 2; })) << forum();
  int64_t topic2 = forum()["topics"][1]["message_thread_id"];
  EXPECT_NE(topic2, topic);
  // The user closes #2 from its button; the staff reopen it.
  int64_t opened = user.find("Ticket #2 is open")->at("message_id");
  user.press(opened, route::close_ticket(2));
  ASSERT_TRUE(eventually([&] {
    for (auto& m : topic_messages(topic2))
      if (m.value("text", "").find("The user closed ticket #2") != std::string::npos) return true;
    return false;
  })) << topic_messages(topic2);
  ASSERT_TRUE(eventually([&] { return forum()["topics"][1]["closed"].get<bool>(); }));
  staff_says(topic2, "/reopen");
  ASSERT_TRUE(eventually([&] { return user.find("reopened ticket #2").has_value(); })) << user.messages();
  ASSERT_TRUE(eventually([&] { return !forum()["topics"][1]["closed"].get<bool>(); }));
  EXPECT_EQ(count("SELECT count(*) FROM tickets WHERE state = 'open'"), 1);

  // The operator's view and a close from the CLI, carried out by the worker.
  auto listed = vpnbot::testing::spawn_vpnbot({"admin", "--json", "ticket", "list", "--state", "all"}, e);
  ASSERT_EQ(listed.wait(Millis(20000)), 0) << listed.output();
  json tickets = json::parse(listed.output().substr(listed.output().find('[')));
  EXPECT_EQ(tickets.size(), 2u);
  auto closing = vpnbot::testing::spawn_vpnbot({"admin", "--actor", "900", "ticket", "close", "2"}, e);
  EXPECT_EQ(closing.wait(Millis(20000)), 0) << closing.output();
  ASSERT_TRUE(eventually([&] { return user.find("Support closed ticket #2").has_value(); })) << user.messages();
  ASSERT_TRUE(eventually([&] { return forum()["topics"][1]["closed"].get<bool>(); }));
  EXPECT_EQ(count("SELECT count(*) FROM admin_audit WHERE action = 'close_ticket' AND actor_id = 900"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE state = 'failed'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'failed'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'dead'"), 0);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(30000)), 0);
}

// The worker is SIGKILLed while the receipts and configs of paid orders are in flight to a slow Bot API (1.5 s per
// call): every buyer still ends up with the receipt, the .conf and the QR code, and every order is paid once.
TEST_F(PaymentsTest, WorkerKilledMidSendStillDeliversEveryReceiptAndConfig) {
  constexpr int kBuyers = 8;
  constexpr int64_t kFirst = 61000;
  uint16_t port = vpnbot::testing::free_port();
  PaymentsThread payments(payment_options(port));
  EmulatorThread telegram;
  add_node("10.40.0.0/24");
  auto e = env(payments, port);
  with_telegram(e, telegram, "kill-test-secret");
  e["VPNBOT_TELEGRAM_SEND_TIMEOUT_MS"] = "5000";
  auto gateway = spawn(e, "gateway", "gateway-1");
  wait_healthy(port, gateway);
  auto worker = spawn(e, "worker", "worker-doomed");
  ASSERT_TRUE(eventually([&] { return telegram.stats()["webhook_url"] != ""; })) << gateway.output();
  auto messages = [&](int64_t user) { return bot_messages_of(telegram, user); };
  for (int64_t user = kFirst; user < kFirst + kBuyers; ++user)
    telegram.client("/client/send_message", {{"user_id", user}, {"first_name", "Buyer"}, {"text", "/start"}});
  ASSERT_TRUE(eventually([&] {
    for (int64_t user = kFirst; user < kFirst + kBuyers; ++user)
      if (messages(user).empty()) return false;
    return true;
  })) << worker.output().substr(0, 3000);
  std::vector<int64_t> orders;
  {
    auto pool = make_pool(2);
    for (int64_t user = kFirst; user < kFirst + kBuyers; ++user)
      orders.push_back(run(pool->transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
        int64_t month = (co_await tx.exec("SELECT id FROM plans WHERE code = 'month'")).get<int64_t>(0, 0);
        billing::BillingOptions options;
        auto order = co_await billing::Orders::create(tx, user, month, "yookassa", options);
        co_await billing::enqueue_create_payment(tx, order.id);
        co_return order.id;
      })));
  }
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == kBuyers;
  })) << worker.output().substr(0, 3000);
  telegram.client("/client/latency", {{"ms", 1500}});
  payments.client("/client/settle_all", {{"provider", "yookassa"}, {"status", "succeeded"}, {"copies", 3}});
  // Kill it while the purchase deliverables are on the wire.
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM outbox WHERE state = 'sending' AND method IN ('sendDocument', 'sendPhoto')") > 0;
  })) << worker.output().substr(0, 3000);
  worker.signal(SIGKILL);
  EXPECT_EQ(worker.wait(Millis(5000)), 128 + SIGKILL);
  int64_t in_flight_at_kill = count("SELECT count(*) FROM outbox WHERE state = 'sending'");
  telegram.client("/client/latency", {{"ms", 0}});
  auto survivor = spawn(e, "worker", "worker-survivor");
  auto has = [&](int64_t user, const char* field) {
    for (auto& m : messages(user))
      if (m.contains(field)) return true;
    return false;
  };
  auto has_receipt = [&](int64_t user) {
    for (auto& m : messages(user))
      if (shown_text(m).find("Payment received") != std::string::npos) return true;
    return false;
  };
  ASSERT_TRUE(eventually(
      [&] {
        for (int64_t user = kFirst; user < kFirst + kBuyers; ++user)
          if (!has_receipt(user) || !has(user, "document") || !has(user, "photo")) return false;
        return true;
      },
      Millis(90000)))
      << survivor.output().substr(0, 4000);
  EXPECT_GT(in_flight_at_kill, 0);
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE state = 'paid'"), kBuyers);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), kBuyers) << "each paid once";
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers"), kBuyers);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE delivery = 'at_least_once' AND state IN ('ambiguous', 'failed')"),
            0)
      << "no reply or deliverable given up";
  EXPECT_EQ(telegram.stats()["rate_limited"], 0) << telegram.stats().dump();
  gateway.signal(SIGTERM);
  survivor.signal(SIGTERM);
  EXPECT_EQ(gateway.wait(Millis(20000)), 0);
  EXPECT_EQ(survivor.wait(Millis(20000)), 0) << survivor.output().substr(0, 2000);
}

// What each user action costs in Bot API calls (each counts against the bot's 30/s): printed as the table in
// docs/SCALING.md and held to its current values, so a change that adds a message to a common action shows here.
TEST_F(PaymentsTest, BotApiCallsPerUserAction) {
  BotRig bot(*this, "10.50.0.0/24", "calls-test-secret");
  auto& telegram = bot.telegram;
  auto& payments = bot.payments;
  auto& e = bot.env;
  e.erase("VPNBOT_TELEGRAM_PRIVATE_CHAT_INTERVAL_MS");  // the default pacing
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto& serve = bot.serve;
  constexpr int64_t user = 7777;
  auto calls = [&] {
    std::map<std::string, int> out;
    json stats = telegram.stats();  // named: items() of a temporary would dangle
    for (auto& [method, n] : stats["calls"].items())
      if (method != "getMe" && method != "setWebhook" && method != "getUpdates" && method != "deleteWebhook")
        out[method] = n.get<int>();
    return out;
  };
  auto settled = [&] {
    return count("SELECT count(*) FROM tg_inbox WHERE state IN ('pending', 'running')") == 0 &&
           count("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')") == 0 &&
           count("SELECT count(*) FROM jobs WHERE state = 'running' OR (state = 'pending' AND run_at <= now())") == 0;
  };
  std::vector<std::pair<std::string, std::map<std::string, int>>> table;
  auto measure = [&](const std::string& action, const std::function<void()>& act, const std::function<bool()>& done) {
    auto before = calls();
    act();
    ASSERT_TRUE(eventually([&] { return done() && settled(); })) << action << "\n" << serve.output().substr(0, 3000);
    std::map<std::string, int> delta;
    for (auto& [method, n] : calls())
      if (n - before[method] > 0) delta[method] = n - before[method];
    table.push_back({action, delta});
  };
  auto bot_messages = [&] { return bot_messages_of(telegram, user); };
  auto find_text = [&](const std::string& needle) -> std::optional<json> {
    for (auto& m : bot_messages())
      if (shown_text(m).find(needle) != std::string::npos) return m;
    return std::nullopt;
  };
  measure(
      "/start (new user)",
      [&] {
        telegram.client("/client/send_message", {{"user_id", user}, {"first_name", "Buyer"}, {"text", "/start"}});
      },
      [&] { return find_text("Main menu").has_value(); });
  int64_t menu = find_text("Main menu")->at("message_id");
  measure(
      "/start (returning user)",
      [&] {
        telegram.client("/client/send_message", {{"user_id", user}, {"text", "/start"}});
      },
      [&] { return bot_messages().size() == 2; });
  int answers_before = 0;
  auto press = [&](const std::string& data) {
    answers_before = telegram.stats()["callback_answers"].get<int>();
    telegram.client("/client/press", {{"user_id", user}, {"message_id", menu}, {"data", data}});
  };
  auto answered = [&] { return telegram.stats()["callback_answers"].get<int>() > answers_before; };
  for (const char* screen : {"buy", "sub", "cfg", "bal", "ref", "help", "lang", "menu"})
    measure(
        std::string("open a menu screen (") + screen + ")", [&] { press(route::screen(screen)); }, answered);
  measure(
      "card purchase: confirm (payment link)", [&] { press(route::pay(1, "yookassa")); },
      [&] { return answered() && find_text("Tap the button to pay").has_value(); });
  std::string checkout = find_text("Tap the button to pay")->at("reply_markup")["inline_keyboard"][0][0]["url"];
  // The buyer spends a few seconds on the checkout page (the chat's message bucket refills meanwhile, as it does for
  // a real buyer): the time to the config below is then the bot's own.
  std::this_thread::sleep_for(Millis(3000));
  measure(
      "card purchase: paid (receipt, .conf, QR)", [&] { vpnbot::testing::http_request("POST", checkout + "/pay", ""); },
      [&] {
        int docs = 0, photos = 0;
        for (auto& m : bot_messages()) docs += m.contains("document"), photos += m.contains("photo");
        return find_text("Payment received").has_value() && docs == 1 && photos == 1;
      });
  // From the payment applied to the .conf (with the receipt) accepted by Telegram, as the database saw both.
  std::cout
      << "\npayment applied -> config in the chat: "
      << vpnbot::testing::query_value_sync(
             url,
             "SELECT round(extract(epoch FROM b.sent_at - o.paid_at) * 1000) || ' ms (queued after ' || "
             "round(extract(epoch FROM b.created_at - o.paid_at) * 1000) || ' ms)' FROM orders o JOIN outbox b ON "
             "b.unique_key = 'receipt:' || o.id WHERE o.provider = 'yookassa' AND b.method = 'sendDocument'")
      << "\n";
  std::cout << "\n| user action | Bot API calls | of which messages in the chat |\n|---|---|---:|\n";
  std::map<std::string, int> total_calls, messages_in_chat;
  for (auto& [action, delta] : table) {
    std::string list;
    int all = 0, in_chat = 0;
    for (auto& [method, n] : delta) {
      list += (list.empty() ? "" : ", ") + method + (n > 1 ? " x" + std::to_string(n) : "");
      all += n;
      if (method.rfind("send", 0) == 0) in_chat += n;
    }
    total_calls[action] = all;
    messages_in_chat[action] = in_chat;
    std::cout << "| " << action << " | " << all << " (" << list << ") | " << in_chat << " |\n";
  }
  EXPECT_EQ(messages_in_chat["/start (new user)"], 1) << "welcome and menu in one message";
  EXPECT_EQ(total_calls["/start (new user)"], 1);
  EXPECT_EQ(total_calls["/start (returning user)"], 1);
  for (const char* screen : {"buy", "sub", "cfg", "bal", "ref", "help", "lang", "menu"})
    EXPECT_EQ(total_calls[std::string("open a menu screen (") + screen + ")"], 2)
        << screen << ": the answer to the button and the edit in place";
  EXPECT_EQ(messages_in_chat["card purchase: confirm (payment link)"], 0)
      << "the confirm screen turns into the status, then into the payment link, in place";
  EXPECT_EQ(total_calls["card purchase: confirm (payment link)"], 3);
  EXPECT_EQ(messages_in_chat["card purchase: paid (receipt, .conf, QR)"], 2) << "the receipt is the .conf's caption";
  EXPECT_EQ(bot_messages().size(), 4u)
      << "after the first menu, a purchase from /start to the config is 3 new messages: the menu, the .conf, its QR";
  // The receipt's buttons sit under the .conf: a press there brings its screen as a new message (a file's caption
  // is no text to edit, and Telegram refuses editMessageText on it).
  std::optional<json> document;
  for (auto& m : bot_messages())
    if (m.contains("document")) document = m;
  ASSERT_TRUE(document.has_value());
  telegram.client("/client/press",
                  {{"user_id", user}, {"message_id", document->at("message_id")}, {"data", route::screen("sub")}});
  ASSERT_TRUE(eventually([&] { return bot_messages().size() == 5 && find_text("Active until").has_value(); }));
  EXPECT_EQ(telegram.stats()["bad_requests"].get<int>(), 0) << telegram.stats()["last_bad_requests"].dump();
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(30000)), 0);
}

// Crypto Pay: 20 shuffled copies of each invoice_paid update across three workers, one SIGKILLed mid-batch and the
// API failing now and then: every order paid once, every update re-checked with getInvoices.
TEST_F(PaymentsTest, CryptoPayTwentyShuffledCopiesAcrossThreeWorkersWithAKillPayEachOnce) {
  constexpr int kOrders = 200, kCopies = 20;
  uint16_t port = vpnbot::testing::free_port();
  PaymentsThread payments(payment_options(port));
  add_node("10.21.0.0/22");
  auto e = env(payments, port);
  auto gateway = spawn(e, "gateway", "gateway-1");
  wait_healthy(port, gateway);
  std::vector<vpnbot::testing::Process> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(spawn(e, "worker", "worker-" + std::to_string(i)));
  create_orders(kOrders, 30000, std::nullopt, {"cryptopay"});
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == kOrders;
  })) << workers[0].output().substr(0, 3000);
  EXPECT_EQ(payments.client("/client/stats")["payments"].get<int>(), kOrders) << "one invoice per order";
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE confirmation_url LIKE '%/checkout/cryptopay/%'"), kOrders)
      << "the bot_invoice_url is the link the user gets";

  payments.client("/client/config", {{"concurrency", 32}, {"api_fail_next", 15}});
  payments.client("/client/settle_all", {{"provider", "cryptopay"}, {"status", "paid"}, {"copies", kCopies}});
  int64_t paid_at_kill = kill_a_worker_mid_batch_and_finish(workers, e, payments, kOrders);
  EXPECT_LT(paid_at_kill, kOrders) << "the kill happened mid-batch";
  auto stats = payments.client("/client/stats");
  EXPECT_EQ(stats["webhooks_delivered"].get<int>(), kOrders * kCopies) << stats.dump();
  EXPECT_EQ(stats["api_failures_injected"].get<int>(), 15);
  EXPECT_EQ(count("SELECT count(*) FROM payment_events WHERE provider = 'cryptopay'"), kOrders)
      << "20 copies of an invoice's update are one stored event";
  EXPECT_EQ(count("SELECT count(*) FROM payment_events WHERE outcome = 'payment applied'"), kOrders);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), kOrders);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE expires_at NOT BETWEEN now() + interval '29.9 days' AND "
                  "now() + interval '30.1 days'"),
            0)
      << "30 days, once";
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'dead'"), 0);
  stop_all(gateway, workers);
}

// Crypto Pay's webhook is authenticated by crypto-pay-api-signature (HMAC-SHA-256 of the raw body keyed with
// SHA-256 of the token): a wrong key, a missing header and a body changed after signing are refused and kept as
// rejections; a correctly signed claim that the API does not confirm grants nothing until the invoice is really
// paid, and then once.
TEST_F(PaymentsTest, CryptoPayForgedAndUnconfirmedUpdatesGrantNothing) {
  uint16_t port = vpnbot::testing::free_port();
  PaymentsThread payments(payment_options(port));
  add_node("10.22.0.0/24");
  auto e = env(payments, port);
  auto gateway = spawn(e, "gateway", "gateway-1");
  wait_healthy(port, gateway);
  auto worker = spawn(e, "worker", "worker-1");
  auto ids = create_orders(2, 600, std::nullopt, {"cryptopay"});
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == 2;
  })) << worker.output();
  std::string base = "http://127.0.0.1:" + std::to_string(port) + billing::kCryptoPayWebhookPath;
  std::string invoice_id = vpnbot::testing::query_value_sync(
      url, "SELECT provider_payment_id FROM orders WHERE id = " + std::to_string(ids[0]));
  json update{{"update_id", 1},
              {"update_type", "invoice_paid"},
              {"request_date", "2026-12-03T10:00:00.000Z"},
              {"payload",
               {{"invoice_id", std::stoll(invoice_id)},
                {"status", "paid"},
                {"currency_type", "fiat"},
                {"fiat", "RUB"},
                {"amount", "199.00"},
                {"payload", "vpnbot-" + std::to_string(ids[0])}}}};
  std::string body = update.dump();
  const std::string& token = payments.options().cryptopay_token;
  auto post = [&](const std::string& text, const std::string& signature) {
    std::vector<std::string> headers{"Content-Type: application/json"};
    if (!signature.empty()) headers.push_back("crypto-pay-api-signature: " + signature);
    return vpnbot::testing::http_request("POST", base, text, headers).first;
  };
  EXPECT_EQ(post(body, billing::cryptopay_signature(body, "999:not-the-token")), 400);
  EXPECT_EQ(post(body, ""), 400);
  std::string signature = billing::cryptopay_signature(body, token);
  std::string tampered = body;
  tampered.replace(tampered.find("199.00"), 6, "999.00");
  EXPECT_EQ(post(tampered, signature), 400);
  EXPECT_EQ(count("SELECT count(*) FROM payment_rejections WHERE provider = 'cryptopay'"), 3);
  // Signed as Crypto Pay would sign it, but the invoice is still active: stored, re-checked, not believed.
  EXPECT_EQ(post(body, signature), 200);
  ASSERT_TRUE(eventually([&] {
    return count(
               "SELECT count(*) FROM jobs WHERE kind = 'billing.payment_event' AND last_error LIKE '%cryptopay says "
               "active%'") >= 1;
  })) << worker.output().substr(0, 3000);
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE state = 'pending'"), 2) << "nothing granted on its word";
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), 0);
  // The invoice of order 1 expires unpaid (Crypto Pay says nothing); order 0 is really paid: once.
  payments.client("/client/settle",
                  {{"provider", "cryptopay"},
                   {"id", vpnbot::testing::query_value_sync(
                              url, "SELECT provider_payment_id FROM orders WHERE id = " + std::to_string(ids[1]))},
                   {"status", "expired"}});
  payments.client("/client/settle", {{"provider", "cryptopay"}, {"id", invoice_id}, {"status", "paid"}, {"copies", 3}});
  ASSERT_TRUE(eventually(
      [&] {
        return count("SELECT count(*) FROM orders WHERE state = 'paid'") == 1 &&
               payments.client("/client/stats")["pending_deliveries"].get<int>() == 0;
      },
      Millis(90000)))
      << worker.output().substr(0, 3000);
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE state = 'paid' AND id = " + std::to_string(ids[0])), 1);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM payment_events WHERE provider = 'cryptopay'"), 1)
      << "the genuine update is a duplicate of the stored claim, which was applied once the API agreed";
  gateway.signal(SIGTERM);
  worker.signal(SIGTERM);
  EXPECT_EQ(gateway.wait(Millis(20000)), 0);
  EXPECT_EQ(worker.wait(Millis(20000)), 0);
}

// The provider did the work but its answer was lost (a proxy timed out): the retry must find that payment, not make
// a second one the user could pay too. YooKassa by Idempotence-Key, Heleket by order_id, Crypto Pay (whose
// createInvoice is not idempotent) by looking up the order's live invoice first.
TEST_F(PaymentsTest, LostAnswersToCreatingAPaymentLeaveOnePaymentPerOrder) {
  uint16_t port = vpnbot::testing::free_port();
  PaymentsThread payments(payment_options(port));
  auto e = env(payments, port);
  auto worker = spawn(e, "worker", "worker-1");
  payments.client("/client/config", {{"api_lose_answer_next", 3}});
  auto ids = create_orders(3, 700, std::nullopt, {"yookassa", "heleket", "cryptopay"});
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == 3;
  })) << worker.output().substr(0, 3000);
  auto stats = payments.client("/client/stats");
  EXPECT_EQ(stats["api_answers_lost"].get<int>(), 3) << stats.dump();
  auto listed = payments.client("/client/payments")["payments"];
  EXPECT_EQ(listed.size(), 3u) << listed.dump();
  for (const auto& p : listed) {
    std::string provider = p["provider"], id = p["id"];
    EXPECT_EQ(count("SELECT count(*) FROM orders WHERE provider = '" + provider + "' AND provider_payment_id = '" + id +
                    "' AND state = 'pending'"),
              1)
        << provider << " " << id;
  }
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE state = 'canceled'"), 0);
  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait(Millis(20000)), 0);
}

// Issue 16's shutdown under load: SIGTERM to the worker while 1000 updates, 200 payments (3 copies of each
// notification) and a broadcast are in flight. It exits 0 within the configured grace (+ the bounded tail of calls
// already on the wire); after a restart everything is done once: each order paid once, every user's four messages
// answered exactly like a control user's, and nobody got the broadcast twice. Runs in the ASan + UBSan build too.
TEST_F(PaymentsTest, SigtermUnderLoadExitsInTimeAndLosesNothing) {
  constexpr int kOrders = 200, kTalkers = 250, kMessagesEach = 4;
  constexpr int64_t kFirstBuyer = 71000, kFirstTalker = 81000, kControl = 80999;
  constexpr int kGraceMs = 3000;
  uint16_t port = vpnbot::testing::free_port();
  PaymentsThread payments(payment_options(port));
  emulator::TelegramEmulatorOptions telegram_options;
  telegram_options.global_per_second = 1000;  // paid-broadcast limits: the load is in flight, not queued for minutes
  EmulatorThread telegram(telegram_options);
  add_node("10.41.0.0/23");
  auto e = env(payments, port);
  with_telegram(e, telegram, "sigterm-test-secret");
  e["VPNBOT_TELEGRAM_GLOBAL_RATE"] = "1000";
  e["VPNBOT_HTTP_SHUTDOWN_GRACE_MS"] = std::to_string(kGraceMs);
  auto gateway = spawn(e, "gateway", "gateway-1");
  wait_healthy(port, gateway);
  auto worker = spawn(e, "worker", "worker-stopped");
  ASSERT_TRUE(eventually([&] { return telegram.stats()["webhook_url"] != ""; })) << gateway.output();
  // Each user's first message is /start (so that the broadcast's audience includes them), then "hello"s.
  std::map<int64_t, int> sent_by;
  auto send = [&](int64_t user) {
    std::string text = sent_by[user]++ == 0 ? "/start" : "hello";
    telegram.client("/client/send_message", {{"user_id", user}, {"first_name", "U"}, {"text", text}});
  };
  // The control user: what four messages from a new user produce when nothing stops.
  for (int i = 0; i < kMessagesEach; ++i) send(kControl);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM tg_inbox WHERE chat_id = " + std::to_string(kControl) + " AND state = 'done'") ==
           kMessagesEach;
  })) << worker.output().substr(0, 3000);
  auto replies_to = [&](int64_t user) {
    return count("SELECT count(*) FROM outbox WHERE broadcast_id IS NULL AND chat_id = " + std::to_string(user));
  };
  int64_t control_replies = replies_to(kControl);
  ASSERT_GT(control_replies, 0);
  create_orders(kOrders, kFirstBuyer, std::nullopt);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == kOrders;
  })) << worker.output().substr(0, 3000);

  telegram.client("/client/latency", {{"ms", 300}});  // a busy API: calls are on the wire when SIGTERM comes
  for (int round = 0; round < kMessagesEach; ++round)
    for (int i = 0; i < kTalkers; ++i) send(kFirstTalker + i);
  auto admin = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"admin", "--json", "broadcast"});
    auto p = vpnbot::testing::spawn_vpnbot(args, e);
    EXPECT_EQ(p.wait(Millis(30000)), 0) << p.output();
  };
  admin({"create", "--text", "Stop test news", "--audience", "all"});
  admin({"start", "1"});
  // The payments last, right before the stop (the admin commands above take seconds on a loaded machine, long
  // enough to confirm them all): a slow YooKassa API (each confirming GET takes 1.5 s, under the grace) keeps them
  // mid-confirmation at the stop.
  payments.client("/client/config", {{"concurrency", 16}, {"api_latency_ms", 1500}});
  payments.client("/client/settle_all", {{"provider", "yookassa"}, {"status", "succeeded"}, {"copies", 3}});
  payments.client("/client/settle_all", {{"provider", "heleket"}, {"status", "paid"}, {"copies", 3}});
  // Stop it while every kind of work is under way.
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM outbox WHERE broadcast_id = 1") > 0; }))
      << vpnbot::testing::query_value_sync(
             url,
             "SELECT (SELECT string_agg(state || ':' || n, ' ') FROM (SELECT state, count(*) n FROM orders GROUP "
             "BY 1) o) || ' | ' || coalesce((SELECT string_agg(id || ':' || state, ' ') FROM broadcasts), '-') || "
             "' | ' || coalesce((SELECT string_agg(kind || ':' || state || ':' || n, ' ') FROM (SELECT kind, "
             "state, count(*) n FROM jobs GROUP BY 1, 2) j), '-')")
      << worker.output().substr(worker.output().size() > 3000 ? worker.output().size() - 3000 : 0);
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM orders WHERE state = 'paid'") > 0; }))
      << "payments are being applied";
  int64_t inbox_pending = count("SELECT count(*) FROM tg_inbox WHERE state <> 'done'");
  // What is in flight at the moment of the stop (the sender may well finish it during the grace).
  int64_t outbox_open = count("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')");
  int64_t unpaid = count("SELECT count(*) FROM orders WHERE state <> 'paid'");
  auto stop_started = Clock::now();
  worker.signal(SIGTERM);
  int code = worker.wait(Millis(kGraceMs + 10000));
  auto stop_ms = std::chrono::duration_cast<Millis>(Clock::now() - stop_started).count();
  EXPECT_EQ(code, 0) << worker.output().substr(0, 4000);
  EXPECT_LT(stop_ms, kGraceMs + 2000) << "the grace plus the tail of calls already on the wire";
  EXPECT_NE(worker.output().find("\"msg\":\"stopped\""), std::string::npos);
  std::cout << "stopped in " << stop_ms << " ms with " << inbox_pending << " updates, " << outbox_open
            << " messages and " << unpaid << " orders still open\n";

  EXPECT_GT(inbox_pending + outbox_open, 0) << "the stop came while updates or messages were in flight";
  EXPECT_GT(unpaid, 0) << "the stop came while payments were being confirmed";
  telegram.client("/client/latency", {{"ms", 0}});
  payments.client("/client/config", {{"api_latency_ms", 0}});
  auto survivor = spawn(e, "worker", "worker-after");
  ASSERT_TRUE(eventually(
      [&] {
        return count("SELECT count(*) FROM orders WHERE state = 'paid'") == kOrders &&
               count("SELECT count(*) FROM tg_inbox WHERE state <> 'done'") == 0 &&
               count("SELECT count(*) FROM broadcasts WHERE state = 'done'") == 1 &&
               count("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')") == 0;
      },
      Millis(120000)))
      << survivor.output().substr(0, 4000);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE user_id >= " + std::to_string(kFirstBuyer) +
                  " AND user_id < " + std::to_string(kFirstBuyer + kOrders)),
            kOrders)
      << "each paid once";
  EXPECT_EQ(count("SELECT count(*) FROM tg_inbox WHERE state = 'done'"), kMessagesEach * (kTalkers + 1));
  int differing = 0;
  for (int i = 0; i < kTalkers; ++i) differing += replies_to(kFirstTalker + i) != control_replies;
  EXPECT_EQ(differing, 0) << "every update handled once, as the control user's";
  EXPECT_EQ(count("SELECT count(*) FROM (SELECT chat_id FROM outbox WHERE broadcast_id = 1 GROUP BY chat_id "
                  "HAVING count(*) > 1) twice"),
            0)
      << "nobody queued the broadcast twice";
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE broadcast_id = 1 AND state = 'ambiguous'"), 0)
      << "a clean stop leaves no message in doubt";
  gateway.signal(SIGTERM);
  survivor.signal(SIGTERM);
  EXPECT_EQ(gateway.wait(Millis(20000)), 0);
  EXPECT_EQ(survivor.wait(Millis(20000)), 0) << survivor.output().substr(0, 2000);
}

// Issue 18: a card saved at checkout renews the subscription on a fast clock, one charge per period (a worker is
// SIGKILLed between renewals), each with its 54-FZ receipt; after the user removes the card it is never charged again.
TEST_F(PaymentsTest, SavedCardRenewsOncePerPeriodAndNeverAfterItIsRemoved) {
  BotRig bot(*this, "10.43.0.0/24", "autopay-test-secret");
  auto& telegram = bot.telegram;
  auto& payments = bot.payments;
  auto& e = bot.env;
  e.erase("VPNBOT_TELEGRAM_PRIVATE_CHAT_INTERVAL_MS");  // the default pacing
  int64_t plan = with_autopayments(e, payments);
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto& serve = bot.serve;
  std::vector<vpnbot::testing::Process> workers;
  workers.push_back(spawn(e, "worker", "worker-1"));
  constexpr int64_t user = 5151;
  int64_t menu = buy_saving_the_card(telegram, user, plan, serve);
  auto saved = payments.client("/client/yookassa/saved_methods")["saved_methods"];
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(vpnbot::testing::query_value_sync(url, "SELECT method_id FROM saved_payment_methods"), saved[0]["id"]);
  EXPECT_EQ(count("SELECT count(*) FROM subscriptions WHERE auto_renew"), 1) << "saving the card turns auto-renewal on";
  auto renewals = [&] {
    return count("SELECT count(*) FROM orders WHERE payment_method_id IS NOT NULL AND state = 'paid'");
  };
  ASSERT_TRUE(eventually([&] { return renewals() >= 1; }, Millis(30000))) << serve.output().substr(0, 4000);
  workers[0].signal(SIGKILL);
  EXPECT_EQ(workers[0].wait(Millis(5000)), 128 + SIGKILL);
  workers.push_back(spawn(e, "worker", "worker-2"));
  ASSERT_TRUE(eventually([&] { return renewals() >= 3; }, Millis(60000))) << serve.output().substr(0, 4000);

  auto press = [&](const std::string& data) {
    telegram.client("/client/press", {{"user_id", user}, {"message_id", menu}, {"data", data}});
  };
  press(route::screen("sub"));
  ASSERT_TRUE(eventually([&] { return messages_with(telegram, user, "Saved card: Bank card *4444") == 1; }));
  press(route::remove_card());
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM saved_payment_methods") == 0; }));
  std::string removed_at = vpnbot::testing::query_value_sync(url, "SELECT now()");
  // The next expiry comes without a charge: with no card and no balance the user is told what is missing.
  ASSERT_TRUE(eventually([&] { return messages_with(telegram, user, "on your balance") >= 1; }, Millis(30000)))
      << serve.output().substr(0, 4000);
  EXPECT_EQ(
      count("SELECT count(*) FROM orders WHERE payment_method_id IS NOT NULL AND created_at > '" + removed_at + "'"),
      0);
  // One charge per period: the emulator's charges are the paid renewals, each for a different expiry, and the
  // subscription is exactly that many days longer.
  int64_t paid = renewals();
  saved = payments.client("/client/yookassa/saved_methods")["saved_methods"];
  ASSERT_EQ(saved.size(), 1u) << "removing the card here does not revoke it at YooKassa";
  EXPECT_EQ(
      saved[0]["charges"].get<int64_t>(),
      count("SELECT count(*) FROM orders WHERE payment_method_id IS NOT NULL AND provider_payment_id IS NOT NULL"));
  EXPECT_EQ(saved[0]["charges"].get<int64_t>(), paid);
  EXPECT_EQ(count("SELECT count(DISTINCT renewal_for) FROM orders WHERE state = 'paid'"), paid);
  EXPECT_EQ(count("SELECT round(extract(epoch FROM s.expires_at - o.paid_at) / 86400) FROM subscriptions s "
                  "JOIN orders o ON o.user_id = s.user_id WHERE o.payment_method_id IS NULL AND o.state = 'paid'"),
            1 + paid);
  EXPECT_EQ(payments_with_correct_receipts(payments), 1 + paid);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'dead'"), 0);
  EXPECT_EQ(messages_with(telegram, user, "Payment received"), 1 + paid) << "a receipt per period";
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(20000)), 0);
  workers[1].signal(SIGTERM);
  EXPECT_EQ(workers[1].wait(Millis(20000)), 0);
}

// A declined card falls back to the balance; a card whose permission was revoked is forgotten, and the next period
// is paid from the balance without trying it again.
TEST_F(PaymentsTest, DeclinedSavedCardFallsBackToTheBalanceAndARevokedOneIsForgotten) {
  BotRig bot(*this, "10.44.0.0/24", "decline-test-secret");
  auto& telegram = bot.telegram;
  auto& payments = bot.payments;
  auto& e = bot.env;
  e.erase("VPNBOT_TELEGRAM_PRIVATE_CHAT_INTERVAL_MS");  // the default pacing
  int64_t plan = with_autopayments(e, payments);
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  auto& serve = bot.serve;
  constexpr int64_t user = 5252;
  auto top_up = [&](const std::string& reference) {
    vpnbot::testing::exec_sync(
        url, "INSERT INTO ledger (user_id, account, amount, source, reference) VALUES (" + std::to_string(user) +
                 ", 'balance', 1000, 'admin', '" + reference + "'); INSERT INTO accounts (user_id, balance) VALUES (" +
                 std::to_string(user) +
                 ", 1000) ON CONFLICT (user_id) DO UPDATE SET balance = accounts.balance + 1000");
  };
  // The card's first two periods are scripted before it exists: on the fast clock a period is ~5 s, less than the
  // bot's own messages may take to arrive on a loaded machine, so a test reacting to them would race the next one.
  buy_saving_the_card(telegram, user, plan, serve, [&] {
    top_up("first");
    payments.client("/client/yookassa/decline",
                    {{"reasons", json::array({"insufficient_funds", "permission_revoked"})}});
  });
  auto balance_renewals = [&] {
    return count("SELECT count(*) FROM orders WHERE provider = 'balance' AND state = 'paid'");
  };
  // Period 1: the card is declined, the balance pays, the user is told both.
  ASSERT_TRUE(eventually([&] { return messages_with(telegram, user, "renewed from your balance instead") == 1; },
                         Millis(30000)))
      << serve.output().substr(0, 4000);
  EXPECT_EQ(balance_renewals(), 1);
  EXPECT_EQ(messages_with(telegram, user, "not enough money on the card"), 1);
  // Period 2: the permission is revoked: the card is forgotten; the balance is empty, so the user is told. (That
  // this period charged the card at all shows the temporary decline kept it.)
  ASSERT_TRUE(
      eventually([&] { return messages_with(telegram, user, "automatic charges were revoked") == 1; }, Millis(30000)))
      << serve.output().substr(0, 4000);
  EXPECT_EQ(count("SELECT count(*) FROM saved_payment_methods"), 0);
  EXPECT_EQ(messages_with(telegram, user, "on your balance"), 1);
  // Period 3 (the user tops up, then renews): the balance pays, the forgotten card is not tried.
  top_up("second");
  vpnbot::testing::exec_sync(
      url, "UPDATE subscriptions SET expires_at = expires_at + interval '1 day', updated_at = now() WHERE user_id = " +
               std::to_string(user));
  ASSERT_TRUE(eventually([&] { return balance_renewals() == 2; }, Millis(30000))) << serve.output().substr(0, 4000);
  auto saved = payments.client("/client/yookassa/saved_methods")["saved_methods"];
  EXPECT_TRUE(saved.empty()) << "YooKassa dropped the revoked method too";
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE payment_method_id IS NOT NULL AND state = 'canceled'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE payment_method_id IS NOT NULL"), 2) << "two periods, two charges";
  EXPECT_EQ(payments_with_correct_receipts(payments), 3);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'dead'"), 0);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(20000)), 0);
}
