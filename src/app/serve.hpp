#pragma once
#include "core/config.hpp"

namespace vpnbot::app {

// Runs the roles named in config.roles until SIGINT/SIGTERM, then shuts down gracefully. Returns the exit code.
int serve(const Config& config);
// Applies pending migrations and exits.
int migrate(const Config& config, bool status_only);

}  // namespace vpnbot::app
