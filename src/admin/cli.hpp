#pragma once
#include <CLI/CLI.hpp>
#include <functional>

#include "config/config.hpp"

namespace vpnbot::admin {

// `vpnbot admin ...` and `vpnbot wg-agent`: registers the subcommands; the returned function runs whichever was
// chosen (returns nullopt if none of these) with the loaded config.
using Runner = std::function<std::optional<int>(const Config&)>;
Runner add_commands(CLI::App& app, std::string& config_file);

}  // namespace vpnbot::admin
