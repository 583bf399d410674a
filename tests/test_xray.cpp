// Xray locations through a Remnawave panel, end to end: purchases across workers, the 2.x and 3.x APIs, traffic
// periods, the client's refusals; every exchange checked against the panel's published contract.
#include "support/shop_rig.hpp"

class XrayTest : public vpnbot::testing::ShopRig {};

// An Xray plan bought through the bot: the receipt rides on the subscription link (as a WireGuard purchase's rides on
// its .conf), so the purchase sends two new messages, the link and its QR, and never a receipt of its own.
TEST_F(XrayTest, XrayPurchaseThroughTheBotBringsTheReceiptWithTheLink) {
  BotRig bot(*this, "10.22.0.0/24", "xray-receipt-secret");
  RemnawaveThread panel;
  add_panel_node(panel);
  add_xray_plan();
  int64_t plan = count("SELECT id FROM plans WHERE code = 'xray'");
  ASSERT_NO_FATAL_FAILURE(start_bot(bot));
  constexpr int64_t user = 7301;
  auto& telegram = bot.telegram;
  telegram.client("/client/send_message", {{"user_id", user}, {"first_name", "Xena"}, {"text", "/start"}});
  auto messages = [&] { return bot_messages_of(telegram, user); };
  auto find_text = [&](const std::string& needle) -> std::optional<json> {
    for (auto& m : messages())
      if (vpnbot::testing::shown_text(m).find(needle) != std::string::npos) return m;
    return std::nullopt;
  };
  ASSERT_TRUE(eventually([&] { return find_text("Main menu").has_value(); })) << bot.serve.output().substr(0, 3000);
  int64_t menu = find_text("Main menu")->at("message_id");
  telegram.client("/client/press", {{"user_id", user}, {"message_id", menu}, {"data", route::pay(plan, "yookassa")}});
  ASSERT_TRUE(eventually([&] { return find_text("Tap the button to pay").has_value(); }))
      << bot.serve.output().substr(0, 3000);
  std::string checkout = find_text("Tap the button to pay")->at("reply_markup")["inline_keyboard"][0][0]["url"];
  vpnbot::testing::http_request("POST", checkout + "/pay", "");
  ASSERT_TRUE(eventually([&] {
    int photos = 0;
    for (auto& m : messages()) photos += m.contains("photo");
    return find_text("Your subscription link").has_value() && photos == 1;
  })) << bot.serve.output().substr(0, 3000);
  auto link = *find_text("Your subscription link");
  std::string text = vpnbot::testing::shown_text(link);
  EXPECT_NE(text.find("Payment received"), std::string::npos) << text;
  EXPECT_LT(text.find("Payment received"), text.find("Your subscription link")) << "the receipt comes first";
  // The link's "open in app" buttons, then the receipt's.
  EXPECT_NE(link["reply_markup"].dump().find(route::screen("cfg")), std::string::npos) << link["reply_markup"];
  EXPECT_EQ(messages().size(), 3u) << "the menu (become the payment link), the link with the receipt, its QR";
  EXPECT_EQ(
      count("SELECT count(*) FROM orders WHERE receipt_sent_at IS NOT NULL AND user_id = " + std::to_string(user)), 1);
  EXPECT_EQ(
      count("SELECT count(*) FROM outbox WHERE unique_key LIKE 'receipt:%' AND chat_id = " + std::to_string(user)), 1)
      << "one receipt";
  EXPECT_EQ(telegram.stats()["bad_requests"].get<int>(), 0) << telegram.stats()["last_bad_requests"].dump();
  bot.serve.signal(SIGTERM);
  EXPECT_EQ(bot.serve.wait(Millis(30000)), 0);
}

// Xray through Remnawave: an Xray plan bought with three shuffled copies of every webhook across three workers, one
// SIGKILLed while the (slow) panel is being called -> exactly one panel user per purchase, with the plan's expiry,
// traffic and devices; a renewal while the panel is down is delayed, then applied; a new link; expiry and the
// deactivation disable; removal deletes; usage read back with one notice at the limit; and every request and answer
// conforms to the panel's published contract.
TEST_F(XrayTest, XrayPlanMakesOnePanelUserPerPurchaseThatFollowsTheSubscription) {
  constexpr int kOrders = 40, kCopies = 3;
  constexpr int64_t kFirst = 40000;
  uint16_t port = vpnbot::testing::free_port();
  PaymentsThread payments(payment_options(port));
  RemnawaveThread panel;
  add_node("10.21.0.0/24");
  add_panel_node(panel);
  add_xray_plan();
  auto e = env(payments, port);
  e["VPNBOT_REMNAWAVE_TIMEOUT_MS"] = "2000";
  auto gateway = spawn(e, "gateway", "gateway-1");
  wait_healthy(port, gateway);
  std::vector<vpnbot::testing::Process> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(spawn(e, "worker", "worker-" + std::to_string(i)));
  panel.client("/client/remnawave/config", {{"latency_ms", 40}});  // slow enough for the kill to land mid-sync
  create_orders(kOrders, kFirst, std::nullopt, {"yookassa"}, "xray");
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == kOrders;
  })) << workers[0].output().substr(0, 3000);
  payments.client("/client/settle_all", {{"provider", "yookassa"}, {"status", "succeeded"}, {"copies", kCopies}});
  kill_a_worker_mid_batch_and_finish(workers, e, payments, kOrders);
  ASSERT_TRUE(eventually([&] {
    return count(
               "SELECT count(*) FROM panel_accounts WHERE applied_revision >= revision AND subscription_url IS NOT "
               "NULL") == kOrders;
  })) << workers[1].output().substr(0, 4000);

  auto users = panel.users();
  EXPECT_EQ(users.size(), size_t(kOrders));
  EXPECT_EQ(panel.calls("POST /api/users"), kOrders) << "each panel user created once, after a kill and 3 copies";
  EXPECT_EQ(count("SELECT count(*) FROM vpn_peers"), 0) << "an Xray plan's first config is on the panel";
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'dead'"), 0);
  std::string squad = panel.options().squads.begin()->first;
  for (const auto& u : users) {
    int64_t user = u["telegramId"];
    EXPECT_EQ(u["expireAt"], expiry_of(user)) << u.dump();
    EXPECT_EQ(u["trafficLimitBytes"].get<int64_t>(), 50LL << 30);
    EXPECT_EQ(u["hwidDeviceLimit"], 2);
    EXPECT_EQ(u["status"], "ACTIVE");
    EXPECT_EQ(u["activeInternalSquads"][0]["uuid"], squad);
    EXPECT_EQ(count("SELECT count(*) FROM panel_accounts WHERE user_id = " + std::to_string(user) +
                    " AND subscription_url = '" + u["subscriptionUrl"].get<std::string>() + "'"),
              1);
  }

  // A renewal while the panel is down for a minute: attempts fail, the account stays behind, nothing is lost.
  int64_t renewing = kFirst;
  std::string expiry_before = expiry_of(renewing);
  panel.client("/client/remnawave/config", {{"down", true}});
  auto went_down = Clock::now();
  int64_t patches_before = panel.calls("PATCH /api/users");
  in_transaction([&](db::Transaction& tx) -> awaitable<void> {
    int64_t plan = (co_await tx.exec("SELECT id FROM plans WHERE code = 'xray'")).get<int64_t>(0, 0);
    billing::BillingOptions options;
    auto order = co_await billing::Orders::create(tx, renewing, plan, "yookassa", options);
    co_await billing::enqueue_create_payment(tx, order.id);
  });
  ASSERT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == kOrders + 1; }));
  payments.client("/client/settle_all", {{"provider", "yookassa"}, {"status", "succeeded"}, {"copies", kCopies}});
  ASSERT_TRUE(eventually([&] { return expiry_of(renewing) != expiry_before; }));
  ASSERT_TRUE(eventually([&] { return panel.calls("PATCH /api/users") >= patches_before + 2; }))
      << "the sync kept trying while the panel was down";
  EXPECT_EQ(panel_user_of(panel, renewing)["expireAt"], expiry_before) << "not applied while down";
  std::this_thread::sleep_until(went_down + std::chrono::seconds(60));  // the outage itself is what is tested
  EXPECT_EQ(panel_user_of(panel, renewing)["expireAt"], expiry_before);
  panel.client("/client/remnawave/config", {{"down", false}});
  // Retries are at most ~37 s apart (sync_job's backoff cap of 30 s, jittered by a quarter); plain exponential
  // backoff would be at hours by now. The wait follows the retry actually scheduled: the latest sync's run_at, plus
  // a minute and a half for a loaded (sanitizer) machine to claim and run it.
  int64_t next_retry_ms = count(
      "SELECT coalesce(ceil(extract(epoch FROM max(run_at) - now()) * 1000), 0)::bigint FROM jobs "
      "WHERE kind = 'remnawave.sync' AND state IN ('pending', 'running')");
  EXPECT_LE(next_retry_ms, 38000) << "a retry is due within the backoff cap";
  EXPECT_TRUE(eventually([&] { return panel_user_of(panel, renewing)["expireAt"] == expiry_of(renewing); },
                         Millis(std::max<int64_t>(next_retry_ms, 0) + 90000)))
      << "applied once the panel is back: " << panel_user_of(panel, renewing).dump() << "\n"
      << vpnbot::testing::query_value_sync(
             url,
             "SELECT string_agg(id || ' ' || state || ' attempts ' || attempts || ' run_at ' || run_at || ' ' || "
             "coalesce(last_error, ''), '; ') FROM jobs WHERE kind = 'remnawave.sync'")
      << "\n"
      << workers[1].output().substr(workers[1].output().size() > 3000 ? workers[1].output().size() - 3000 : 0);

  // A new link: the panel's short uuid changes and vpnbot records the new URL.
  std::string old_link = panel_user_of(panel, renewing)["subscriptionUrl"];
  int64_t account = count("SELECT id FROM panel_accounts WHERE user_id = " + std::to_string(renewing));
  in_transaction([&](db::Transaction& tx) -> awaitable<void> {
    EXPECT_TRUE(co_await remnawave::Accounts::revoke(tx, account, renewing));
    co_await remnawave::enqueue_sync(tx, account);
  });
  EXPECT_TRUE(eventually([&] { return panel_user_of(panel, renewing)["subscriptionUrl"] != old_link; }));
  std::string new_link = panel_user_of(panel, renewing)["subscriptionUrl"];
  EXPECT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM panel_accounts WHERE id = " + std::to_string(account) +
                 " AND subscription_url = '" + new_link + "'") == 1;
  }));
  EXPECT_EQ(vpnbot::testing::http_request("GET", old_link, "").first, 404) << "the old link stops working";
  EXPECT_EQ(vpnbot::testing::http_request("GET", new_link, "").first, 200);

  // Expiry: the deactivation pass disables the account on the panel.
  int64_t expiring = kFirst + 1;
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET expires_at = now() - interval '30 days' WHERE user_id = " +
                                      std::to_string(expiring));
  vpnbot::testing::exec_sync(url, "INSERT INTO jobs (kind) VALUES ('billing.deactivate_expired')");
  EXPECT_TRUE(eventually([&] { return panel_user_of(panel, expiring)["status"] == "DISABLED"; }))
      << panel_user_of(panel, expiring).dump();

  // Removal deletes the panel user.
  int64_t removing = kFirst + 2;
  int64_t removed = count("SELECT id FROM panel_accounts WHERE user_id = " + std::to_string(removing));
  in_transaction([&](db::Transaction& tx) -> awaitable<void> {
    EXPECT_TRUE(co_await remnawave::Accounts::remove(tx, removed, removing));
    co_await remnawave::enqueue_sync(tx, removed);
  });
  EXPECT_TRUE(eventually([&] { return panel_user_of(panel, removing).is_null(); }));

  // A refund at YooKassa takes the days back, and the panel account is disabled with them.
  int64_t refunded = kFirst + 4;
  int64_t refunded_order =
      count("SELECT id FROM orders WHERE state = 'paid' AND user_id = " + std::to_string(refunded));
  payments.client("/client/refund",
                  {{"provider", "yookassa"}, {"order_id", std::to_string(refunded_order)}, {"copies", 2}});
  EXPECT_TRUE(eventually([&] { return panel_user_of(panel, refunded)["status"] == "DISABLED"; }))
      << panel_user_of(panel, refunded).dump();

  // The panel refuses (an admin deleted the squad there): the refusal is recorded and shown on the admin's user
  // card; once the squad is back, `node resync` sends the account again.
  int64_t refused_user = kFirst + 5;
  int64_t refused_account = count("SELECT id FROM panel_accounts WHERE user_id = " + std::to_string(refused_user));
  std::string link_before = panel_user_of(panel, refused_user)["subscriptionUrl"];
  panel.client("/client/remnawave/config", {{"remove_squad", squad}});
  in_transaction([&](db::Transaction& tx) -> awaitable<void> {
    EXPECT_TRUE(co_await remnawave::Accounts::revoke(tx, refused_account, refused_user));
    co_await remnawave::enqueue_sync(tx, refused_account);
  });
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM panel_accounts WHERE last_error LIKE '%A118%' AND id = " +
                 std::to_string(refused_account)) == 1;
  })) << workers[1].output().substr(0, 4000);
  auto card = vpnbot::testing::spawn_vpnbot({"admin", "--json", "user", "show", std::to_string(refused_user)}, e);
  ASSERT_EQ(card.wait(Millis(20000)), 0) << card.output();
  auto shown = json::parse(card.output().substr(card.output().find('{')));
  ASSERT_EQ(shown["panel_accounts"].size(), 1u) << shown.dump();
  EXPECT_NE(shown["panel_accounts"][0]["panel_refused"].get<std::string>().find("Internal squad not found"),
            std::string::npos);
  EXPECT_FALSE(shown["panel_accounts"][0]["in_sync"].get<bool>());
  EXPECT_EQ(panel_user_of(panel, refused_user)["subscriptionUrl"], link_before) << "nothing applied while refused";
  panel.client("/client/remnawave/config", {{"add_squad", {{"uuid", squad}, {"name", "Default-Squad"}}}});
  auto resync = vpnbot::testing::spawn_vpnbot({"admin", "node", "resync", "xray-nl"}, e);
  ASSERT_EQ(resync.wait(Millis(20000)), 0) << resync.output();
  EXPECT_NE(resync.output().find("1 account(s) of xray-nl sent to the panel again"), std::string::npos)
      << resync.output();
  EXPECT_TRUE(eventually([&] {
    return count(
               "SELECT count(*) FROM panel_accounts WHERE last_error IS NULL AND applied_revision >= revision "
               "AND id = " +
               std::to_string(refused_account)) == 1;
  }));
  EXPECT_NE(panel_user_of(panel, refused_user)["subscriptionUrl"], link_before) << "the asked-for new link is made";
  auto unknown = vpnbot::testing::spawn_vpnbot({"admin", "node", "resync", "no-such-node"}, e);
  EXPECT_NE(unknown.wait(Millis(20000)), 0);
  EXPECT_NE(unknown.output().find("no remnawave node named no-such-node"), std::string::npos) << unknown.output();

  // Usage: read back page by page; the user past the limit is marked told once (a second read tells nobody).
  int64_t heavy = kFirst + 3;
  panel.client("/client/remnawave/traffic",
               {{"username", panel_user_of(panel, heavy)["username"]}, {"bytes", int64_t(51) << 30}});
  vpnbot::testing::exec_sync(url, "INSERT INTO jobs (kind) VALUES ('remnawave.usage')");
  EXPECT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM panel_accounts WHERE limit_notified AND used_bytes = " +
                 std::to_string(int64_t(51) << 30) + " AND user_id = " + std::to_string(heavy)) == 1;
  }));
  EXPECT_EQ(count("SELECT count(*) FROM panel_accounts WHERE limit_notified"), 1);
  EXPECT_EQ(panel_user_of(panel, heavy)["status"], "LIMITED");
  // A traffic top-up raises the panel's limit by as much: the panel turns the user ACTIVE again.
  in_transaction([&](db::Transaction& tx) -> awaitable<void> {
    co_await vpn::Traffic::add_extra(tx, heavy, 5 * vpn::kBytesPerGb);
  });
  EXPECT_TRUE(eventually([&] {
    return panel_user_of(panel, heavy)["trafficLimitBytes"].get<int64_t>() == int64_t(55) << 30;
  })) << panel_user_of(panel, heavy).dump();
  EXPECT_EQ(panel_user_of(panel, heavy)["status"], "ACTIVE");
  expect_panel_exchanges_conform(panel, true);
  stop_all(gateway, workers);
}

// A panel speaking the 3.x API (users addressed by numeric id, no uuid anywhere): the same lifecycle, checked
// against the 3.x contract. Purchases (two webhook copies each) create each user once; a new link, expiry and
// removal reach the panel by id; usage is read back.
TEST_F(XrayTest, XrayOnAPanelWithThe3xApiFollowsTheSameLifecycle) {
  constexpr int kOrders = 8;
  constexpr int64_t kFirst = 45000;
  uint16_t port = vpnbot::testing::free_port();
  PaymentsThread payments(payment_options(port));
  emulator::RemnawaveEmulatorOptions panel_options;
  panel_options.api_version = 3;
  RemnawaveThread panel(panel_options);
  add_node("10.22.0.0/24");
  add_panel_node(panel, 3);
  add_xray_plan();
  auto e = env(payments, port);
  auto gateway = spawn(e, "gateway", "gateway-1");
  wait_healthy(port, gateway);
  std::vector<vpnbot::testing::Process> workers;
  workers.push_back(spawn(e, "worker", "worker-0"));
  create_orders(kOrders, kFirst, std::nullopt, {"yookassa"}, "xray");
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM orders WHERE provider_payment_id IS NOT NULL") == kOrders;
  })) << workers[0].output().substr(0, 3000);
  payments.client("/client/settle_all", {{"provider", "yookassa"}, {"status", "succeeded"}, {"copies", 2}});
  ASSERT_TRUE(eventually([&] {
    return count(
               "SELECT count(*) FROM panel_accounts WHERE applied_revision >= revision AND subscription_url IS NOT "
               "NULL AND panel_ref ~ '^[0-9]+$'") == kOrders;
  })) << workers[0].output().substr(0, 4000);
  EXPECT_EQ(panel.calls("POST /api/users"), kOrders);
  for (const auto& u : panel.users()) {
    EXPECT_FALSE(u.contains("uuid")) << "a 3.x panel has no user uuids: " << u.dump();
    EXPECT_EQ(u["expireAt"], expiry_of(u["telegramId"].get<int64_t>()));
    EXPECT_EQ(u["status"], "ACTIVE");
  }
  // A new link, by id.
  int64_t revoking = kFirst;
  std::string old_link = panel_user_of(panel, revoking)["subscriptionUrl"];
  int64_t account = count("SELECT id FROM panel_accounts WHERE user_id = " + std::to_string(revoking));
  in_transaction([&](db::Transaction& tx) -> awaitable<void> {
    EXPECT_TRUE(co_await remnawave::Accounts::revoke(tx, account, revoking));
    co_await remnawave::enqueue_sync(tx, account);
  });
  EXPECT_TRUE(eventually([&] { return panel_user_of(panel, revoking)["subscriptionUrl"] != old_link; }));
  // Expiry disables (PATCH by id), removal deletes (DELETE by id).
  int64_t expiring = kFirst + 1, removing = kFirst + 2;
  vpnbot::testing::exec_sync(url, "UPDATE subscriptions SET expires_at = now() - interval '30 days' WHERE user_id = " +
                                      std::to_string(expiring));
  vpnbot::testing::exec_sync(url, "INSERT INTO jobs (kind) VALUES ('billing.deactivate_expired')");
  EXPECT_TRUE(eventually([&] { return panel_user_of(panel, expiring)["status"] == "DISABLED"; }));
  int64_t removed = count("SELECT id FROM panel_accounts WHERE user_id = " + std::to_string(removing));
  in_transaction([&](db::Transaction& tx) -> awaitable<void> {
    EXPECT_TRUE(co_await remnawave::Accounts::remove(tx, removed, removing));
    co_await remnawave::enqueue_sync(tx, removed);
  });
  EXPECT_TRUE(eventually([&] { return panel_user_of(panel, removing).is_null(); }));
  // Usage, paged.
  int64_t heavy = kFirst + 3;
  panel.client("/client/remnawave/traffic",
               {{"username", panel_user_of(panel, heavy)["username"]}, {"bytes", int64_t(51) << 30}});
  vpnbot::testing::exec_sync(url, "INSERT INTO jobs (kind) VALUES ('remnawave.usage')");
  EXPECT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM panel_accounts WHERE limit_notified AND user_id = " + std::to_string(heavy)) ==
           1;
  }));
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE state = 'dead'"), 0);
  EXPECT_GE(panel.calls("PATCH /api/users"), 1);
  expect_panel_exchanges_conform(panel, true, "remnawave-contract-v3");
  stop_all(gateway, workers);
}

// The usage pass against a traffic reset in flight: a page read while a new period's reset is pending, or read
// before the reset landed, holds the previous period's numbers and sends no second "used up" notice; a page read
// after the reset does count.
TEST_F(XrayTest, UsageReadAcrossATrafficResetTellsTheUserOncePerPeriod) {
  RemnawaveThread panel;
  int64_t node = add_panel_node(panel);
  constexpr int64_t kUser = 46000;
  vpnbot::testing::exec_sync(url, "INSERT INTO users (id, referral_code) VALUES (46000, 'u46000')");
  auto pool = make_pool(2);
  int64_t account = run(pool->transaction([&](db::Transaction& tx) -> awaitable<int64_t> {
    co_return co_await remnawave::Accounts::provision(tx, kUser, node, std::nullopt, "usage-test", false);
  }));
  remnawave::PanelUser page_user;
  page_user.username = vpnbot::testing::query_value_sync(
      url, "SELECT username FROM panel_accounts WHERE id = " + std::to_string(account));
  page_user.status = "LIMITED";
  page_user.traffic_limit_bytes = int64_t(50) << 30;
  page_user.used_traffic_bytes = int64_t(51) << 30;
  auto now = [&] { return vpnbot::testing::query_value_sync(url, "SELECT clock_timestamp()::text"); };
  auto record = [&](const std::string& read_at) {
    std::vector<remnawave::PanelUser> page{page_user};
    return run(pool->transaction([&](db::Transaction& tx) -> awaitable<std::vector<int64_t>> {
      co_return co_await remnawave::Accounts::record_usage(tx, node, page, read_at);
    }));
  };
  EXPECT_EQ(record(now()), std::vector<int64_t>{kUser}) << "used up: told";
  EXPECT_TRUE(record(now()).empty()) << "told once";
  run(pool->transaction([&](db::Transaction& tx) -> awaitable<int> {
    co_await remnawave::Accounts::period_paid(tx, kUser);
    co_return 0;
  }));
  std::string read_before_reset = now();
  EXPECT_TRUE(record(read_before_reset).empty()) << "the reset is pending: the page is the old period's";
  // The sync resets the counter (as Accounts::finish records it).
  vpnbot::testing::exec_sync(url,
                             "UPDATE panel_accounts SET applied_traffic_period = traffic_period, traffic_reset_at = "
                             "clock_timestamp(), applied_revision = revision WHERE id = " +
                                 std::to_string(account));
  EXPECT_TRUE(record(read_before_reset).empty()) << "read before the reset landed";
  EXPECT_EQ(count("SELECT count(*) FROM panel_accounts WHERE limit_notified AND id = " + std::to_string(account)), 0);
  EXPECT_EQ(record(now()), std::vector<int64_t>{kUser}) << "used up again in the new period: told again";
}

// The panel client against the emulator's refusals: a wrong token and a 5xx are retryable, a field the contract
// refuses is not (and carries the panel's message), a missing user is "not found" rather than an error.
TEST_F(XrayTest, PanelClientTellsRetryableFromRefused) {
  RemnawaveThread panel;
  http::Client client(io.get_executor(), http::ClientOptions{});
  remnawave::PanelApi good(client, {panel.base_url(), panel.options().token, Millis(3000)});
  remnawave::PanelApi forged(client, {panel.base_url(), "not-the-token", Millis(3000)});
  remnawave::DesiredUser desired;
  desired.username = "tg7_1";
  desired.expire_at = "2030-01-01T00:00:00.000Z";
  desired.squads = {panel.options().squads.begin()->first};
  desired.telegram_id = 7;
  auto failure = [&](remnawave::PanelApi& api, remnawave::DesiredUser d) -> std::optional<remnawave::PanelError> {
    try {
      run(api.create_user(d));
    } catch (const remnawave::PanelError& e) {
      return e;
    }
    return std::nullopt;
  };
  auto unauthorized = failure(forged, desired);
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status(), 401);
  EXPECT_TRUE(unauthorized->retryable());
  remnawave::DesiredUser bad = desired;
  bad.username = "no spaces allowed";
  auto refused = failure(good, bad);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status(), 400);
  EXPECT_FALSE(refused->retryable());
  EXPECT_NE(std::string(refused->what()).find("Validation failed"), std::string::npos) << refused->what();
  remnawave::DesiredUser foreign_squad = desired;
  foreign_squad.squads = {"00000000-0000-4000-8000-000000000000"};
  auto no_squad = failure(good, foreign_squad);
  ASSERT_TRUE(no_squad);
  EXPECT_NE(std::string(no_squad->what()).find("A118"), std::string::npos) << no_squad->what();
  EXPECT_EQ(no_squad->code(), "A118") << "a 404 that is not \"user not found\" is told apart by the panel's code";
  EXPECT_EQ(no_squad->status(), 404);
  EXPECT_FALSE(no_squad->retryable());
  panel.client("/client/remnawave/config", {{"fail_next", 1}});
  auto outage = failure(good, desired);
  ASSERT_TRUE(outage);
  EXPECT_TRUE(outage->retryable());
  EXPECT_FALSE(run(good.find_by_username("tg7_1")).has_value());
  auto created = run(good.create_user(desired));
  EXPECT_EQ(created.username, "tg7_1");
  auto taken = failure(good, desired);
  ASSERT_TRUE(taken);
  EXPECT_NE(std::string(taken->what()).find("A019"), std::string::npos) << "username taken: " << taken->what();
  auto found = run(good.find_by_username("tg7_1"));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->ref, created.ref);
  desired.active = false;
  desired.expire_in_future = false;  // a past expiry is not sent: the panel refuses one
  EXPECT_EQ(run(good.update_user(created.ref, desired)).status, "DISABLED");
  EXPECT_TRUE(run(good.delete_user(created.ref)));
  EXPECT_FALSE(run(good.delete_user(created.ref))) << "already gone: not an error";
  auto page = run(good.list_users(0, 10));
  EXPECT_EQ(page.total, 0);
  expect_panel_exchanges_conform(panel, false);
}
