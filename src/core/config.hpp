#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vpnbot {

// Raised for any invalid configuration; the message always names the offending key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

struct Config {
  std::string database_url;
  std::string database_listen_url;  // LISTEN needs a session: direct to PostgreSQL, not via pgbouncer.
  int db_pool_max = 8;
  int db_pool_queue_max = 1000;
  int db_acquire_timeout_ms = 5000;
  int db_connect_timeout_ms = 5000;
  int db_query_timeout_ms = 30000;
  int db_transaction_timeout_ms = 60000;

  HostPort http_listen{"127.0.0.1", 8080};
  std::optional<HostPort> health_listen;  // processes without the gateway role: /healthz, /readyz, /metrics
  int http_body_limit_bytes = 1 << 20;
  int http_read_timeout_ms = 10000;
  int http_idle_timeout_ms = 60000;
  int http_max_connections = 4096;
  int http_shutdown_grace_ms = 10000;

  std::string http_proxy;
  int http_client_timeout_ms = 30000;
  int http_client_max_connections = 64;

  std::string log_level = "info";
  std::vector<std::string> roles{"gateway", "worker", "scheduler"};
  std::string instance_id;

  int worker_concurrency = 16;
  int job_lease_ms = 60000;
  int job_poll_interval_ms = 1000;
  int lease_ttl_ms = 15000;

  std::string telegram_api_url = "https://api.telegram.org";
  std::string telegram_token;
  std::string telegram_mode = "off";  // webhook | polling | off
  std::string telegram_webhook_secret;
  std::string public_url;  // where Telegram (and payment providers) reach the gateway
  int telegram_webhook_max_connections = 40;
  int telegram_poll_timeout_s = 25;
  int telegram_global_rate = 30;
  int telegram_private_chat_interval_ms = 1000;
  int telegram_private_chat_burst = 3;
  int telegram_group_rate_per_min = 20;
  int telegram_update_max_attempts = 3;
  int telegram_send_timeout_ms = 20000;
  std::vector<int64_t> admin_ids;
  std::string master_key_file;  // secretbox key for private keys at rest
  int vpn_device_limit = 3;     // configs per user until billing sets it per plan
  int vpn_address_grace_ms = 600000;

  // Billing
  std::vector<std::string> payment_methods{"yookassa", "heleket", "stars", "balance"};
  int trial_days = 3;
  int trial_device_limit = 1;
  int order_ttl_ms = 3600000;
  std::vector<int> referral_percents{10, 5, 2};
  int cashback_percent = 5;
  int referral_bonus_days = 3;
  int expiry_grace_ms = 0;
  std::vector<int> reminder_hours{72, 24, 0};
  int reminder_lookback_ms = 6 * 3600 * 1000;
  int auto_renew_before_ms = 12 * 3600 * 1000;
  int retention_days = 30;
  int scheduler_time_scale = 1;
  int scheduler_tick_ms = 1000;
  int64_t scheduler_time_origin_ms = 0;
  bool telegram_allow_paid_broadcast = false;
  std::string yookassa_api_url = "https://api.yookassa.ru";
  std::string yookassa_shop_id;
  std::string yookassa_secret_key;
  std::string yookassa_return_url;
  int yookassa_vat_code = 0;
  std::string yookassa_receipt_email;
  std::vector<std::string> yookassa_allowed_ips;  // default: YooKassa's published ranges
  std::string heleket_api_url = "https://api.heleket.com";
  std::string heleket_merchant;
  std::string heleket_api_key;
  std::vector<std::string> heleket_allowed_ips;
  std::vector<std::string> trusted_proxies;

  bool has_role(std::string_view role) const;
  // payment_methods minus the providers without credentials.
  std::vector<std::string> enabled_payment_methods() const;
};

// Documentation of one key, as printed by `vpnbot config keys` and in docs/CONFIG.md.
struct ConfigKeyDoc {
  std::string key;  // TOML key; the env var is VPNBOT_ + upper(key)
  std::string env;
  std::string type;
  std::string default_value;
  bool required;
  std::string description;
};

std::vector<ConfigKeyDoc> config_keys();

// Defaults <- TOML file (optional) <- VPNBOT_* environment. Unknown keys, wrong types, out-of-range
// values and missing required keys raise ConfigError naming the key.
Config load_config(const std::optional<std::string>& toml_path, const std::map<std::string, std::string>& env,
                   bool require_database = true);

std::map<std::string, std::string> process_environment();
HostPort parse_host_port(const std::string& key, const std::string& value);

}  // namespace vpnbot
