#pragma once
#include <string>
#include <vector>

#include "core/config.hpp"

namespace vpnbot::billing {

// The heleket_* keys of the billing section.
struct HeleketSettings {
  std::string api_url = "https://api.heleket.com";
  std::string merchant;
  std::string api_key;
  std::vector<std::string> allowed_ips;
};
void declare_settings(ConfigSchema& schema, HeleketSettings& settings);

}  // namespace vpnbot::billing
