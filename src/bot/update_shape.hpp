#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace vpnbot::bot {

// The boundary check of an update's content: every field the bot reads has the type the Bot API documents
// (objects, integer ids, strings), so that past this check a type error is a bug, not bad input. Returns what is
// wrong, or nullopt. Pure (fuzzable, no database).
std::optional<std::string> update_shape_problem(const std::string& kind, const nlohmann::json& payload);

}  // namespace vpnbot::bot
