#pragma once
#include <optional>

#include "db/pool.hpp"
#include "vpn/keys.hpp"
#include "vpn/remnawave/accounts.hpp"

namespace vpnbot::app {

// Demo data for the sandbox (a node, promo codes, a traffic-limited plan and traffic packages), added only where
// missing. `panel`: an Xray location on a Remnawave panel (the sandbox's emulator) and an Xray plan sold there.
awaitable<void> seed_demo_data(db::Pool& pool, const vpn::SecretBox& box,
                               std::optional<remnawave::PanelNodeSpec> panel = std::nullopt);

}  // namespace vpnbot::app
