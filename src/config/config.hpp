#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "billing/settings.hpp"
#include "bot/settings.hpp"
#include "budgets/settings.hpp"
#include "core/config.hpp"
#include "db/settings.hpp"
#include "http/settings.hpp"
#include "jobs/settings.hpp"
#include "ops/settings.hpp"
#include "support/settings.hpp"
#include "telegram/settings.hpp"
#include "vpn/settings.hpp"

namespace vpnbot {

// The one validated configuration of a process: a section per domain, each declaring its own keys (flat in the
// file and the environment: `db_pool_max`, `VPNBOT_DB_POOL_MAX`).
struct Config {
  ProcessSettings process;
  db::Settings db;
  http::Settings http;
  jobs::Settings jobs;
  telegram::Settings telegram;
  bot::Settings bot;
  vpn::Settings vpn;
  billing::Settings billing;
  ops::Settings ops;
  support::Settings support;
  budgets::Settings budgets;

  bool has_role(std::string_view role) const;
};

std::vector<ConfigKeyDoc> config_keys();

// Defaults <- TOML file (optional) <- VPNBOT_* environment. Unknown keys, wrong types, out-of-range
// values, missing required keys and inconsistent combinations raise ConfigError naming the key.
Config load_config(const std::optional<std::string>& toml_path, const std::map<std::string, std::string>& env,
                   bool require_database = true);

}  // namespace vpnbot
