#include "core/json.hpp"

namespace vpnbot {

nlohmann::json parse_json(std::string_view text, const JsonLimits& limits) {
  nlohmann::json result;
  nlohmann::detail::json_sax_dom_parser<nlohmann::json> dom(result, false);
  parse_json_sax(text, dom, limits);
  return result;
}

nlohmann::json parse_json_or_discarded(std::string_view text, const JsonLimits& limits) {
  try {
    return parse_json(text, limits);
  } catch (const BadJson&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

}  // namespace vpnbot
