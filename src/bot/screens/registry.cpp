// The bot's screens. A new screen is a function in its feature's file, declared and listed here.
#include "bot/registry.hpp"
#include "bot/screens/screen.hpp"

namespace vpnbot::bot::screens {

// Each screen's function, by the file that defines it.
ScreenFunction help, language, status;         // menu.cpp
ScreenFunction buy, gifts, plan;               // buy.cpp ("plan" shows "confirm" too)
ScreenFunction subscription, locations;        // subscription.cpp
ScreenFunction configs, rekey, panel_confirm;  // configs.cpp
ScreenFunction traffic;                        // traffic.cpp ("trf" and "tpk")
ScreenFunction balance;                        // balance.cpp
ScreenFunction referral;                       // referral.cpp
ScreenFunction promo;                          // promo.cpp
ScreenFunction support;                        // support.cpp

const std::vector<Screen>& all() {
  static const std::vector<Screen> screens{
      {"menu", menu},
      {"buy", buy, true},
      {"plan", plan, true},
      {"confirm", plan, true},
      {"gifts", gifts},
      {"sub", subscription},
      {"newcfg", locations},
      {"cfg", configs},
      {"bal", balance},
      {"ref", referral},
      {"trf", traffic, true},
      {"tpk", traffic, true},
      {"help", help},
      {"support", support, false, true},
      {"lang", language},
      {"promo", promo, false, true},
      {"status", status, false, false, false},
      {"rekey", rekey, false, false, false},
      {"xrconfirm", panel_confirm, false, false, false},
  };
  return screens;
}

const Screen* find(std::string_view id) {
  return find_entry(all(), &Screen::id, id);
}

}  // namespace vpnbot::bot::screens
