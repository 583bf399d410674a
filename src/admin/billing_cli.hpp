#pragma once
#include <CLI/CLI.hpp>
#include <memory>

#include "admin/cli.hpp"

namespace vpnbot::admin {

// `vpnbot admin plan|promo|order|user|stats|audit ...`: registers the subcommands under `admin`. Changes are
// audited with `actor_id` (--actor) as the admin.
Runner add_billing_commands(CLI::App& admin, std::shared_ptr<bool> json_out, std::shared_ptr<int64_t> actor_id);

}  // namespace vpnbot::admin
