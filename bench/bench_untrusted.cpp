// The worst per-request CPU time of each public route's parsing over hostile body shapes of ~1 MB (deep, wide,
// escapes, invalid UTF-8, numbers), side by side with the unbounded parse the gateway used before (nlohmann's DOM;
// an ordered DOM for Heleket, whose recursive re-encoder was the crash) on the same bodies in the same run.
#include <time.h>

#include <functional>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "billing/cryptopay/notification.hpp"
#include "billing/heleket/notification.hpp"
#include "billing/yookassa/notification.hpp"
#include "core/json.hpp"
#include "telegram/update_key.hpp"

using namespace vpnbot;

namespace {

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// The best of three runs: the CPU time the shape itself costs.
double measure(const std::function<void()>& request) {
  double best = 1e18;
  for (int i = 0; i < 3; ++i) {
    double started = cpu_ms();
    request();
    best = std::min(best, cpu_ms() - started);
  }
  return best;
}

std::string fmt_ms(double value) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(value < 10 ? 3 : 0) << value;
  return out.str();
}

std::string repeat(const std::string& unit, size_t times) {
  std::string out;
  out.reserve(unit.size() * times);
  for (size_t i = 0; i < times; ++i) out += unit;
  return out;
}

}  // namespace

int main() {
  constexpr size_t kSize = 1'000'000;
  std::string wide = "{";
  for (int i = 0; wide.size() < kSize - 64; ++i) wide += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  wide += "\"sign\":\"x\"}";
  const std::vector<std::pair<std::string, std::string>> shapes{
      {"deep arrays (1M levels)", "{\"sign\":\"x\",\"a\":" + repeat("[", kSize - 20)},
      {"deep objects (200k levels)", "{\"sign\":\"x\",\"a\":" + repeat("{\"a\":", kSize / 5 - 5)},
      {"one object, ~95k members", wide},
      {"a string of escapes", "{\"sign\":\"x\",\"a\":\"" + repeat("\\u00e9\\/", kSize / 8 - 4) + "\"}"},
      {"invalid UTF-8", "{\"sign\":\"x\",\"a\":\"" + repeat("\xff\xfe", kSize / 2 - 16) + "\"}"},
      {"numbers", "{\"sign\":\"x\",\"a\":[" + repeat("1e999999,", kSize / 9 - 4) + "1]}"}};
  struct Route {
    std::string name;
    std::function<void(const std::string&)> bounded;
  };
  const std::vector<Route> routes{
      {"/telegram/webhook",
       [](const std::string& body) {
         try {
           telegram::classify_update(parse_json(body));
         } catch (const std::exception&) {
         }
       }},
      {"/payments/heleket",
       [](const std::string& body) {
         try {
           billing::verify_heleket_webhook(body, "key");
         } catch (const std::invalid_argument&) {
         }
       }},
      {"/payments/yookassa", [](const std::string& body) { billing::parse_yookassa_notification(body); }},
      {"/payments/cryptopay", [](const std::string& body) {
         try {
           billing::verify_cryptopay_update(body, billing::cryptopay_signature(body, "1:t"), "1:t");
         } catch (const std::invalid_argument&) {
         }
       }}};
  std::cout << std::fixed << std::setprecision(3);
  std::cout << "## Hostile bodies: CPU time per request (best of 3), bounded parsing vs the unbounded DOM\n\n";
  std::cout << "| route | shape | bounded ms | unbounded DOM ms | ratio |\n|---|---|---:|---:|---:|\n";
  for (const auto& route : routes) {
    double worst = 0;
    std::string worst_shape;
    for (const auto& [shape, body] : shapes) {
      double bounded = measure([&] { route.bounded(body); });
      // The unbounded parse is skipped for the 1M-level arrays: its DOM's recursive destructor path is what the
      // limits exist for (measured: it parses, but a dump or copy of it overflows the stack).
      double unbounded = -1;
      if (shape.rfind("deep", 0) != 0)
        unbounded = measure([&] {
          if (route.name == "/payments/heleket")
            (void)nlohmann::ordered_json::parse(body, nullptr, false);
          else
            (void)nlohmann::json::parse(body, nullptr, false);
        });
      std::cout << "| " << route.name << " | " << shape << " | " << bounded << " | "
                << (unbounded < 0 ? std::string("(not run)") : fmt_ms(unbounded)) << " | "
                << (unbounded < 0 ? std::string("-") : fmt_ms(unbounded / std::max(bounded, 1e-3)) + "x") << " |\n";
      if (bounded > worst) worst = bounded, worst_shape = shape;
    }
    std::cout << "| " << route.name << " | worst: " << worst_shape << " | " << worst << " | | |\n";
  }
  return 0;
}
