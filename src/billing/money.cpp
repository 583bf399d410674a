#include "billing/money.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace vpnbot::billing {

int64_t parse_rub(std::string_view s) {
  auto bad = [&] { return std::invalid_argument("'" + std::string(s) + "' is not an amount of roubles"); };
  if (s.empty() || s.size() > 18) throw bad();
  auto dot = s.find('.');
  std::string_view whole = s.substr(0, dot), frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (whole.empty() || frac.size() > 2 || (dot != std::string_view::npos && frac.empty())) throw bad();
  int64_t rub = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') throw bad();
    rub = rub * 10 + (c - '0');
  }
  int64_t kop = 0;
  for (size_t i = 0; i < 2; ++i) {
    char c = i < frac.size() ? frac[i] : '0';
    if (c < '0' || c > '9') throw bad();
    kop = kop * 10 + (c - '0');
  }
  return rub * 100 + kop;
}

std::string rub_decimal(int64_t kopecks) {
  std::string sign = kopecks < 0 ? "-" : "";
  int64_t v = kopecks < 0 ? -kopecks : kopecks;
  return fmt::format("{}{}.{:02}", sign, v / 100, v % 100);
}

std::string format_rub(int64_t kopecks) {
  std::string sign = kopecks < 0 ? "-" : "";
  int64_t v = kopecks < 0 ? -kopecks : kopecks;
  if (v % 100 == 0) return fmt::format("{}{} ₽", sign, v / 100);
  return fmt::format("{}{}.{:02} ₽", sign, v / 100, v % 100);
}

Price price_with_promo(int64_t price_rub, int64_t price_stars, const std::optional<PromoTerms>& promo) {
  return price_with_discounts(price_rub, price_stars, 0, promo);
}

Price price_with_discounts(int64_t price_rub, int64_t price_stars, int group_percent,
                           const std::optional<PromoTerms>& promo) {
  Price p{price_rub, price_stars, 0, 0};
  if (price_rub <= 100) return p;  // nothing to take off a price of 1 ₽ or less
  int64_t group = std::min(price_rub * std::clamp(group_percent, 0, 100) / 100, price_rub - 100);
  int64_t after_group = price_rub - group;
  int64_t code = 0;
  if (promo && promo->kind == "percent")
    code = after_group * std::clamp<int64_t>(promo->value, 0, 100) / 100;
  else if (promo && promo->kind == "fixed")
    code = std::max<int64_t>(0, promo->value);
  code = std::clamp<int64_t>(code, 0, after_group - 100);  // at least 1 ₽ is paid
  if (group + code <= 0) return p;
  p.group_discount_rub = group;
  p.discount_rub = group + code;
  p.rub = price_rub - p.discount_rub;
  // stars * rub / price_rub, rounded up
  p.stars = std::max<int64_t>(1, (price_stars * p.rub + price_rub - 1) / price_rub);
  return p;
}

std::vector<int64_t> referral_rewards(int64_t value_rub, const std::vector<int>& percents) {
  std::vector<int64_t> out;
  for (int percent : percents) out.push_back(value_rub > 0 && percent > 0 ? value_rub * percent / 100 : 0);
  return out;
}

int64_t cashback_points(int64_t value_rub, int percent) {
  if (value_rub <= 0 || percent <= 0) return 0;
  return value_rub * percent / 100 / 100;
}

}  // namespace vpnbot::billing
