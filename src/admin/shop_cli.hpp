#pragma once
#include <CLI/CLI.hpp>
#include <memory>

#include "admin/cli.hpp"

namespace vpnbot::admin {

// `vpnbot admin group add|list|assign` (promo groups, personal discounts) and `vpnbot admin gift list`, audited
// with `actor_id` as the admin.
Runner add_shop_commands(CLI::App& admin, std::shared_ptr<bool> json_out, std::shared_ptr<int64_t> actor_id);

}  // namespace vpnbot::admin
