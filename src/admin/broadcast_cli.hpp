#pragma once
#include <CLI/CLI.hpp>
#include <memory>

#include "admin/cli.hpp"

namespace vpnbot::admin {

// `vpnbot admin broadcast create|preview|start|pause|resume|cancel|status|list`.
Runner add_broadcast_commands(CLI::App& admin, std::shared_ptr<bool> json_out);

}  // namespace vpnbot::admin
