// The shop's screens in-process (support/bot_harness.hpp): every screen of the registry (bot/screens/registry.cpp),
// reached through the typed routes a user presses, in every language, rendered as the Bot API would take it: its
// HTML parsed as Telegram parses it, the text within Telegram's limits, no placeholder left unfilled, the keyboard
// valid, and no "menu expired" answer. A screen added without an example here fails the test.
#include <map>

#include "billing/orders.hpp"
#include "billing/traffic_packages.hpp"
#include "bot/routes.hpp"
#include "bot/screens/screen.hpp"
#include "emulator/telegram_formatting.hpp"
#include "support/bot_harness.hpp"
#include "vpn/store.hpp"

using namespace vpnbot;
using nlohmann::json;
namespace route = vpnbot::bot::route;

namespace {

constexpr int64_t kUser = 100;

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
        bool screen_shown = false;
        for (const auto& call : messages_to(kUser, before)) {
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
          EXPECT_EQ(visible.find('{'), std::string::npos) << "a placeholder left unfilled: " << visible;
          if (payload.contains("reply_markup")) {
            EXPECT_NO_THROW(emulator::check_inline_keyboard(payload["reply_markup"])) << payload["reply_markup"];
          }
        }
        EXPECT_TRUE(screen_shown);
        shown += screen_shown;
      }
    }
  }
  EXPECT_GE(shown, 4 * 20);
}
