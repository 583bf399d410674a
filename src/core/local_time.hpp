#pragma once
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace vpnbot {

// Shows the UTC timestamps the database writes ("YYYY-MM-DD HH:MM", as to_char formats them) in one IANA time zone,
// the zone users live in (Europe/Moscow by default): "2026-12-31 21:00 MSK". Reads the system's zoneinfo (tzdata).
class LocalClock {
 public:
  // Throws std::invalid_argument naming the zone when the time zone database has no such zone.
  explicit LocalClock(const std::string& zone_name = "Europe/Moscow");

  // The local time with the zone's abbreviation ("MSK", or "+0330" for a zone without letters). Text that is not
  // such a timestamp (e.g. empty) is returned unchanged: a display helper never fails a message.
  std::string show(std::string_view utc_text) const;
  // The local calendar day of a UTC timestamp, "YYYY-MM-DD".
  std::string show_date(std::string_view utc_text) const;
  const std::string& zone_name() const { return zone_name_; }

 private:
  std::string zone_name_;
  const date::time_zone* zone_;
};

}  // namespace vpnbot
