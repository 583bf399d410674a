#include "core/local_time.hpp"

#include <date/tz.h>

#include <charconv>
#include <optional>
#include <stdexcept>

namespace vpnbot {
namespace {

std::optional<int> number_at(std::string_view text, size_t at, size_t digits) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data() + at, text.data() + at + digits, value);
  if (ec != std::errc() || ptr != text.data() + at + digits) return std::nullopt;
  return value;
}

// "YYYY-MM-DD HH:MM" (seconds and anything after them ignored) as a UTC instant.
std::optional<date::sys_time<std::chrono::minutes>> parse_utc(std::string_view text) {
  if (text.size() < 16 || text[4] != '-' || text[7] != '-' || (text[10] != ' ' && text[10] != 'T') || text[13] != ':')
    return std::nullopt;
  auto year = number_at(text, 0, 4), month = number_at(text, 5, 2), day = number_at(text, 8, 2);
  auto hour = number_at(text, 11, 2), minute = number_at(text, 14, 2);
  if (!year || !month || !day || !hour || !minute || *hour > 23 || *minute > 59) return std::nullopt;
  date::year_month_day ymd{date::year{*year}, date::month(unsigned(*month)), date::day(unsigned(*day))};
  if (!ymd.ok()) return std::nullopt;
  return date::sys_days{ymd} + std::chrono::hours{*hour} + std::chrono::minutes{*minute};
}

}  // namespace

LocalClock::LocalClock(const std::string& zone_name) : zone_name_(zone_name) {
  try {
    zone_ = date::locate_zone(zone_name);
  } catch (const std::runtime_error&) {
    throw std::invalid_argument("unknown time zone '" + zone_name + "' (an IANA name such as Europe/Moscow)");
  }
}

std::string LocalClock::show(std::string_view utc_text) const {
  auto instant = parse_utc(utc_text);
  if (!instant) return std::string(utc_text);
  return date::format("%Y-%m-%d %H:%M %Z", date::zoned_time<std::chrono::minutes>{zone_, *instant});
}

std::string LocalClock::show_date(std::string_view utc_text) const {
  auto instant = parse_utc(utc_text);
  if (!instant) return std::string(utc_text);
  return date::format("%Y-%m-%d", date::zoned_time<std::chrono::minutes>{zone_, *instant});
}

}  // namespace vpnbot
