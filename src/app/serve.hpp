#pragma once
#include <optional>

#include "config/config.hpp"
#include "vpn/remnawave/accounts.hpp"

namespace vpnbot::app {

// Runs the roles named in config.process.roles until SIGINT/SIGTERM, then shuts down gracefully. Returns the exit code.
int serve(const Config& config);
// Applies pending migrations and exits.
int migrate(const Config& config, bool status_only);
// Adds the sandbox's demo data (a node, promo codes) where missing.
int seed_sandbox(const Config& config, std::optional<remnawave::PanelNodeSpec> panel = std::nullopt);

}  // namespace vpnbot::app
