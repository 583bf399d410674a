#pragma once
#include <optional>

#include <CLI/CLI.hpp>
#include <memory>
#include "vpn/remnawave/accounts.hpp"

#include "admin/cli.hpp"
#include "db/pool.hpp"
#include "vpn/keys.hpp"

namespace vpnbot::admin {

// `vpnbot admin plan|promo|order|user|stats|audit ...`: registers the subcommands under `admin`. Changes are
// audited with `actor_id` (--actor) as the admin.
Runner add_billing_commands(CLI::App& admin, std::shared_ptr<bool> json_out, std::shared_ptr<int64_t> actor_id);

// Demo data for the sandbox (a node, promo codes), added only where missing.
// `panel`: an Xray location on a Remnawave panel (the sandbox's emulator) and an Xray plan sold there.
awaitable<void> seed_demo_data(db::Pool& pool, const vpn::SecretBox& box,
                               std::optional<remnawave::PanelNodeSpec> panel = std::nullopt);

}  // namespace vpnbot::admin
