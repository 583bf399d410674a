#include "billing/heleket/settings.hpp"

#include "http/settings.hpp"

namespace vpnbot::billing {

void declare_settings(ConfigSchema& schema, HeleketSettings& s) {
  schema.string("heleket_api_url", s.api_url, false, "Heleket API base URL.", http::check_url);
  schema.string("heleket_merchant", s.merchant, false, "Heleket merchant uuid.");
  schema.string("heleket_api_key", s.api_key, false, "Heleket payment API key (signs requests and webhooks).");
  http::declare_networks(schema, "heleket_allowed_ips", s.allowed_ips, "",
                         "Optional: addresses Heleket webhooks may come from (the signature is always checked).");
}

}  // namespace vpnbot::billing
