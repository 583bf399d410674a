#include "config/config.hpp"

#include <algorithm>

namespace vpnbot {
namespace {

// Every section's keys, bound to `config` (which must outlive the schema's use).
ConfigSchema schema_of(Config& config) {
  ConfigSchema schema;
  db::declare_settings(schema, config.db);
  http::declare_settings(schema, config.http);
  declare_settings(schema, config.process);
  jobs::declare_settings(schema, config.jobs);
  telegram::declare_settings(schema, config.telegram);
  bot::declare_settings(schema, config.bot);
  vpn::declare_settings(schema, config.vpn);
  billing::declare_settings(schema, config.billing);
  ops::declare_settings(schema, config.ops);
  support::declare_settings(schema, config.support);
  budgets::declare_settings(schema, config.budgets);
  return schema;
}

// Rules that span keys or sections.
void check_combinations(const Config& config) {
  const auto& tg = config.telegram;
  if (tg.mode != "off" && tg.token.empty())
    throw ConfigError("config: telegram_token (env VPNBOT_TELEGRAM_TOKEN) is required when telegram_mode is " +
                      tg.mode);
  if (tg.mode == "webhook") {
    if (tg.webhook_secret.empty())
      throw ConfigError(
          "config: telegram_webhook_secret (env VPNBOT_TELEGRAM_WEBHOOK_SECRET) is required in webhook mode");
    if (config.http.public_url.empty())
      throw ConfigError("config: public_url (env VPNBOT_PUBLIC_URL) is required in webhook mode");
  }
  if (config.bot.rules_version > 0 && config.bot.rules_text_en.empty())
    throw ConfigError("config: rules_text_en (env VPNBOT_RULES_TEXT_EN) is required when rules_version is set");
  if (!config.ops.backup_dir.empty() && config.ops.backup_key_file.empty())
    throw ConfigError("config: backup_key_file (env VPNBOT_BACKUP_KEY_FILE) is required when backup_dir is set");
}

}  // namespace

bool Config::has_role(std::string_view role) const {
  return std::find(process.roles.begin(), process.roles.end(), role) != process.roles.end();
}

std::vector<ConfigKeyDoc> config_keys() {
  Config defaults;
  return schema_of(defaults).docs();
}

Config load_config(const std::optional<std::string>& toml_path, const std::map<std::string, std::string>& env,
                   bool require_database) {
  Config config;
  auto schema = schema_of(config);
  std::set<std::string> not_required;
  if (!require_database) not_required.insert("database_url");
  schema.load(toml_path, env, not_required);
  check_combinations(config);
  db::finish_settings(config.db);
  finish_settings(config.process);
  return config;
}

}  // namespace vpnbot
