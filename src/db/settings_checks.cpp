// What the database section's settings.json cannot say: the URL's check and the listen URL's default.
#include "db/settings.hpp"

namespace vpnbot::db {

void check_database_url(const ConfigValue& value, const std::string& url) {
  if (url.empty()) value.fail("must not be empty");
}

void finish_settings(Settings& s) {
  if (s.listen_url.empty()) s.listen_url = s.url;
}

}  // namespace vpnbot::db
