#pragma once
// A WireGuard node as the test fixtures add it: on 127.0.0.1, in a pool of its own.
#include <string>

#include "vpn/store.hpp"

namespace vpnbot::testing {

inline vpn::NodeSpec test_node(std::string name, std::string subnet_v4, std::string country_code = "NL",
                               std::string location = "Amsterdam") {
  vpn::NodeSpec spec;
  spec.name = std::move(name);
  spec.country_code = std::move(country_code);
  spec.location = std::move(location);
  spec.endpoint_host = "127.0.0.1";
  spec.subnet_v4 = std::move(subnet_v4);
  return spec;
}

}  // namespace vpnbot::testing
