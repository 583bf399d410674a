#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vpnbot::billing {

// Money is kept in minor units: kopecks for RUB, whole stars for XTR.

// "199.00" / "199" / "199.5" -> 19950 kopecks. Throws std::invalid_argument for anything else (no floats involved).
int64_t parse_rub(std::string_view decimal);
// 19950 -> "199.50" (the form YooKassa and Heleket take).
std::string rub_decimal(int64_t kopecks);
// 19900 -> "199 ₽", 19950 -> "199.50 ₽" (for people).
std::string format_rub(int64_t kopecks);

// What a promo code changes at checkout.
struct PromoTerms {
  std::string kind;  // percent, fixed, plan (days and balance codes are redeemed when entered, not at checkout)
  int64_t value = 0;
};

struct Price {
  int64_t rub = 0;                 // kopecks
  int64_t stars = 0;               // whole stars
  int64_t discount_rub = 0;        // the whole discount: the promo group's and the promo code's
  int64_t group_discount_rub = 0;  // the promo group's part of it
};

// The final price of a plan with an optional promo. A discount never takes the price below 1 ₽ / 1 star, and
// stars follow the same proportion as roubles (rounded up, so a discount never makes stars cheaper than roubles).
Price price_with_promo(int64_t price_rub, int64_t price_stars, const std::optional<PromoTerms>& promo);
// The same with a promo group's personal discount. The rule: the group's percent comes off the plan's price first,
// then the promo code applies to that discounted price (a percent code takes its percent of it, a fixed code its
// amount), and 1 ₽ is always paid. So 20 % (group) and 10 % (code) off 199 ₽ is 199 - 39.80 - 15.92 = 143.28 ₽.
Price price_with_discounts(int64_t price_rub, int64_t price_stars, int group_percent,
                           const std::optional<PromoTerms>& promo);

// Referral rewards per level (index 0 = the direct referrer) in kopecks: value * percent / 100, rounded down.
std::vector<int64_t> referral_rewards(int64_t value_rub, const std::vector<int>& percents);

// Cashback in points (1 point = 1 ₽ when exchanged): whole roubles of value * percent / 100, rounded down.
int64_t cashback_points(int64_t value_rub, int percent);

}  // namespace vpnbot::billing
