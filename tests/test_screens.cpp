// The shop's screens in-process (support/bot_harness.hpp): every screen of the registry (bot/screens/registry.cpp),
// reached through the typed routes a user presses, in every language, rendered as the Bot API would take it: its
// HTML parsed as Telegram parses it, the text within Telegram's limits, no placeholder left unfilled, the keyboard
// valid, and no "menu expired" answer. A screen added without an example here fails the test.
#include <map>
#include <regex>

#include "billing/orders.hpp"
#include "billing/traffic_packages.hpp"
#include "bot/admin/page.hpp"
#include "bot/routes.hpp"
#include "bot/screens/screen.hpp"
#include "emulator/telegram_formatting.hpp"
#include "support/bot_harness.hpp"
#include "vpn/store.hpp"

using namespace vpnbot;
using nlohmann::json;
namespace route = vpnbot::bot::route;

namespace {

constexpr int64_t kUser = 100, kAdmin = 101;

// Characters as Telegram counts its limits (UTF-16 code units are close enough for these texts: code points).
size_t code_points(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

class ScreensTest : public vpnbot::testing::BotHarness {
 protected:
  void SetUp() override {
    AsyncDbTest::SetUp();
    bot::BotOptions options;
    options.bot_username = "vpn_test_bot";
    options.payment_methods = {"yookassa", "heleket", "cryptopay", "stars", "balance"};
    options.save_cards = true;
    options.support_chat_id = -1001234567890;
    options.admin_ids = {kAdmin};
    // A tester pressing every screen in four languages is not a flood.
    options.budgets.updates_per_minute = 100000;
    options.budgets.checkouts_per_hour = 1000;
    options.budgets.pending_orders = 1000;
    start_bot(options);
    send_text(kUser, "/start");
    // A paid month (so "My subscription" has its buttons), a traffic package, a node to put a config on.
    run(pool->transaction([&](db::Transaction& tx) -> awaitable<void> {
      billing::BillingOptions billing;
      auto month = co_await billing::Plans::by_code(tx, "month");
      plan_id = month->id;
      auto order = co_await billing::Orders::create(tx, kUser, month->id, "stars", billing);
      co_await billing::Orders::apply_payment(tx, order.id, "stars", "charge-1", order.amount, "XTR", false, billing);
      auto package = co_await billing::TrafficPackages::create(tx, 10, 4900, 25, 1);
      package_id = package.id;
    }));
    add_node();
  }

  // The presses that show each screen of the registry.
  std::map<std::string, std::vector<std::string>> examples() const {
    std::vector<std::string> confirms;
    for (const auto& method : the_bot->options().payment_methods)
      confirms.push_back(route::payment_method(plan_id, method));
    confirms.push_back(route::payment_method(plan_id, "yookassa", true));      // the card saved for renewals
    confirms.push_back(route::payment_method(plan_id, "stars", false, true));  // a gift
    return {{"menu", {route::screen("menu")}},
            {"buy", {route::screen("buy")}},
            {"plan", {route::plan(plan_id), route::plan(plan_id, true)}},
            {"confirm", confirms},
            {"gifts", {route::screen("gifts")}},
            {"sub", {route::screen("sub")}},
            {"newcfg", {route::screen("newcfg")}},
            {"cfg", {route::screen("cfg")}},
            {"bal", {route::screen("bal")}},
            {"ref", {route::screen("ref")}},
            {"trf", {route::screen("trf")}},
            {"tpk", {route::traffic_package(package_id)}},
            {"help", {route::screen("help")}},
            {"support", {route::screen("support")}},
            {"lang", {route::screen("lang")}},
            {"promo", {route::screen("promo")}},
            {"status", {route::pay(plan_id, "yookassa")}},
            {"rekey", {route::config("rk", 1)}},
            {"xrconfirm", {route::panel_account("rv", 1), route::panel_account("rm", 1)}}};
  }

  // Checks what the bot sent `chat` after outbox row `before` as the Bot API would take it; true when a screen
  // (a text message or an edit) was among it.
  bool renders_as_the_bot_api_accepts(int64_t chat, int64_t before, const std::string& expired) {
    bool screen_shown = false;
    for (const auto& call : messages_to(chat, before)) {
      const json& payload = call["payload"];
      if (call["method"] == "answerCallbackQuery") {
        std::string notice = payload.value("text", "");
        EXPECT_NE(notice, expired);
        EXPECT_LE(code_points(notice), 200u);
        continue;
      }
      if (!payload.contains("text")) continue;
      screen_shown = true;
      std::string visible;
      try {
        visible = emulator::visible_text(payload["text"], payload.value("parse_mode", ""));
      } catch (const emulator::FormattingError& e) {
        ADD_FAILURE() << e.what() << "\n" << payload["text"].get<std::string>();
        continue;
      }
      EXPECT_GE(code_points(visible), 1u);
      EXPECT_LE(code_points(visible), 4096u);
      EXPECT_FALSE(std::regex_search(visible, std::regex(R"(\{[a-z_]+\})")))
          << "a placeholder left unfilled: " << visible;
      if (payload.contains("reply_markup")) {
        EXPECT_NO_THROW(emulator::check_inline_keyboard(payload["reply_markup"])) << payload["reply_markup"];
      }
    }
    return screen_shown;
  }

  int64_t plan_id = 0;
  int64_t package_id = 0;
};

}  // namespace

TEST_F(ScreensTest, EveryScreenRendersWhatTheBotApiAcceptsInEveryLanguage) {
  auto examples = this->examples();
  for (const auto& screen : bot::screens::all())
    ASSERT_TRUE(examples.count(std::string(screen.id))) << "no example press for the screen " << screen.id;
  int shown = 0;
  for (const auto& language : the_bot->catalog().languages()) {
    press(kUser, route::language(language));
    std::string expired = the_bot->catalog().text(language, "error.menu_expired");
    for (const auto& [screen, presses] : examples) {
      for (const auto& data : presses) {
        SCOPED_TRACE(language + " " + screen + " " + data);
        int64_t before = last_outbox_id();
        press(kUser, data);
        bool screen_shown = renders_as_the_bot_api_accepts(kUser, before, expired);
        EXPECT_TRUE(screen_shown);
        shown += screen_shown;
      }
    }
  }
  EXPECT_GE(shown, 4 * 20);
}

// The admin panel likewise: every page of its registry (bot/admin/registry.cpp) and the notices of its actions, in
// every language. A page added without an example here fails the test.
TEST_F(ScreensTest, EveryAdminPageRendersWhatTheBotApiAcceptsInEveryLanguage) {
  send_text(kAdmin, "/start");
  press(kAdmin, route::admin({"bcn", "all"}));
  send_text(kAdmin, "Hello <b>everyone</b> & welcome");
  std::string broadcast = vpnbot::testing::query_value_sync(url, "SELECT max(id) FROM broadcasts");
  std::string order = vpnbot::testing::query_value_sync(url, "SELECT max(id) FROM orders WHERE provider = 'stars'");
  ASSERT_FALSE(broadcast.empty());
  ASSERT_FALSE(order.empty());
  std::string user = std::to_string(kUser);
  const std::map<std::string, std::vector<std::vector<std::string>>> examples{
      {"home", {{}}},
      {"st", {{}}},
      {"audit", {{}}},
      {"find", {{}}},
      {"u", {{user}, {"404"}}},
      {"bal", {{user}}},
      {"rf", {{order}}},
      {"plans", {{}}},
      {"padd", {{}}},
      {"pedit", {{}}},
      {"promos", {{}}},
      {"poadd", {{}}},
      {"grp", {{}}},
      {"grpadd", {{}}},
      {"grpset", {{}}},
      {"trf", {{}}},
      {"gifts", {{}}},
      {"tickets", {{}}},
      {"nodes", {{}}},
      {"bc", {{}}},
      {"bcn", {{"all"}}},
      {"bcs", {{broadcast}}},
      {"mt", {{}}},
      // Actions, for their notices: days granted, maintenance on and off, a refused audience.
      {"gd", {{user, "7"}}},
      {"mts", {{"1"}, {"0"}}},
      {"bcx", {{broadcast}}}};
  for (const auto& route : bot::admin::routes())
    if (route.show) {
      ASSERT_TRUE(examples.count(std::string(route.id))) << "no example for the admin page " << route.id;
    }
  int shown = 0;
  for (const auto& language : the_bot->catalog().languages()) {
    press(kAdmin, route::language(language));
    std::string expired = the_bot->catalog().text(language, "error.menu_expired");
    for (const auto& [id, variants] : examples) {
      for (const auto& args : variants) {
        std::vector<std::string> path{id};
        path.insert(path.end(), args.begin(), args.end());
        std::string data = route::admin(path);
        SCOPED_TRACE(language + " " + data);
        int64_t before = last_outbox_id();
        press(kAdmin, data);
        bool page_shown = renders_as_the_bot_api_accepts(kAdmin, before, expired);
        EXPECT_TRUE(page_shown);
        shown += page_shown;
      }
    }
  }
  EXPECT_GE(shown, 4 * 25);
}
