#pragma once
#include <CLI/CLI.hpp>
#include <memory>

#include "admin/cli.hpp"
#include "db/pool.hpp"
#include "vpn/keys.hpp"

namespace vpnbot::admin {

// `vpnbot admin plan|promo|order|user ...`: registers the subcommands under `admin`.
Runner add_billing_commands(CLI::App& admin, std::shared_ptr<bool> json_out);

// Demo data for the sandbox (a node, promo codes), added only where missing.
awaitable<void> seed_demo_data(db::Pool& pool, const vpn::SecretBox& box);

}  // namespace vpnbot::admin
