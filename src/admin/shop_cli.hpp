#pragma once
#include <CLI/CLI.hpp>
#include <memory>

#include "admin/cli.hpp"

namespace vpnbot::admin {

// `vpnbot admin group add|list|assign` (promo groups, personal discounts), `vpnbot admin gift list` and
// `vpnbot admin ticket list|close` (support tickets), audited with `actor_id` as the admin.
Runner add_shop_commands(CLI::App& admin, std::shared_ptr<bool> json_out, std::shared_ptr<int64_t> actor_id);

}  // namespace vpnbot::admin
