#include "core/config.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <functional>
#include <set>

#include "core/log.hpp"
#include "core/ip_network.hpp"

extern char** environ;

namespace vpnbot {
namespace {

// A raw value from either source: TOML gives typed nodes, env gives strings.
struct RawValue {
  const toml::node* node = nullptr;
  std::optional<std::string> text;
  std::string source;  // for messages: "env VPNBOT_X" or "file key x"
};

using Setter = std::function<void(Config&, const RawValue&)>;

struct KeySpec {
  ConfigKeyDoc doc;
  Setter set;
};

[[noreturn]] void fail(const RawValue& raw, const std::string& why) {
  throw ConfigError(fmt::format("config {}: {}", raw.source, why));
}

int64_t as_int(const RawValue& raw, int64_t min, int64_t max) {
  int64_t value = 0;
  if (raw.node) {
    auto v = raw.node->value_exact<int64_t>();
    if (!v) fail(raw, "must be an integer");
    value = *v;
  } else {
    const std::string& s = *raw.text;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || ptr != s.data() + s.size() || s.empty())
      fail(raw, fmt::format("'{}' is not an integer", s));
  }
  if (value < min || value > max) fail(raw, fmt::format("{} is out of range [{}, {}]", value, min, max));
  return value;
}

std::string as_string(const RawValue& raw) {
  if (raw.node) {
    auto v = raw.node->value_exact<std::string>();
    if (!v) fail(raw, "must be a string");
    return *v;
  }
  return *raw.text;
}

std::vector<std::string> as_list(const RawValue& raw) {
  std::vector<std::string> out;
  if (raw.node) {
    const auto* arr = raw.node->as_array();
    if (!arr) fail(raw, "must be an array of strings");
    for (const auto& el : *arr) {
      auto v = el.value_exact<std::string>();
      if (!v) fail(raw, "must be an array of strings");
      out.push_back(*v);
    }
    return out;
  }
  std::string cur;
  for (char c : *raw.text + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  return out;
}

KeySpec int_key(std::string key, int Config::*field, int min, int max, std::string description) {
  Config defaults;
  return {{key, "", "integer", std::to_string(defaults.*field), false, std::move(description)},
          [=](Config& c, const RawValue& raw) { c.*field = static_cast<int>(as_int(raw, min, max)); }};
}

// A comma-separated (env) or array (TOML) list of integers, each in [min, max], at most max_items of them.
KeySpec int_list_key(std::string key, std::vector<int> Config::*field, std::string default_text, int min, int max,
                     size_t max_items, std::string description) {
  return {{key, "", "list", std::move(default_text), false, std::move(description)},
          [=](Config& c, const RawValue& raw) {
            std::vector<int> values;
            for (const auto& item : as_list(raw)) {
              int v = 0;
              auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
              if (ec != std::errc() || ptr != item.data() + item.size() || v < min || v > max)
                fail(raw, fmt::format("'{}' is not a whole number in [{}, {}]", item, min, max));
              values.push_back(v);
            }
            if (values.size() > max_items) fail(raw, fmt::format("at most {} entries", max_items));
            c.*field = std::move(values);
          }};
}

KeySpec string_key(std::string key, std::string Config::*field, bool required, std::string description,
                   std::function<void(const RawValue&, const std::string&)> validate = nullptr) {
  Config defaults;
  return {{key, "", "string", defaults.*field, required, std::move(description)}, [=](Config& c, const RawValue& raw) {
            auto v = as_string(raw);
            if (validate) validate(raw, v);
            c.*field = v;
          }};
}

const std::vector<KeySpec>& specs() {
  static const std::vector<KeySpec> all = [] {
    std::vector<KeySpec> v;
    v.push_back(string_key("database_url", &Config::database_url, true,
                           "PostgreSQL connection URL (libpq syntax). May point at pgbouncer in transaction mode.",
                           [](const RawValue& raw, const std::string& s) {
                             if (s.empty()) fail(raw, "must not be empty");
                           }));
    v.push_back(string_key("database_listen_url", &Config::database_listen_url, false,
                           "Direct PostgreSQL URL for LISTEN (pgbouncer in transaction mode drops LISTEN). "
                           "Defaults to database_url."));
    v.push_back(int_key("db_pool_max", &Config::db_pool_max, 1, 1000, "Max PostgreSQL connections per process."));
    v.push_back(int_key("db_pool_queue_max", &Config::db_pool_queue_max, 0, 1000000,
                        "Max callers waiting for a connection; beyond it acquire fails at once."));
    v.push_back(int_key("db_acquire_timeout_ms", &Config::db_acquire_timeout_ms, 1, 600000,
                        "Max wait for a pooled connection."));
    v.push_back(int_key("db_connect_timeout_ms", &Config::db_connect_timeout_ms, 1, 600000,
                        "Max time to establish a new connection."));
    v.push_back(int_key("db_query_timeout_ms", &Config::db_query_timeout_ms, 1, 3600000,
                        "Statement timeout: the query is cancelled on the server after this."));
    v.push_back(int_key("db_transaction_timeout_ms", &Config::db_transaction_timeout_ms, 1, 3600000,
                        "Deadline of a whole transaction (each statement gets what is left of it): no request or job "
                        "holds a connection and its locks longer."));
    v.push_back({{"http_listen", "", "host:port", "127.0.0.1:8080", false, "Address of the HTTP server."},
                 [](Config& c, const RawValue& raw) { c.http_listen = parse_host_port(raw.source, as_string(raw)); }});
    v.push_back({{"health_listen", "", "host:port", "", false,
                  "The internal listener of every role: /healthz, /readyz and /metrics (container healthchecks, "
                  "Prometheus). Never publish it; the gateway's http_listen serves only webhooks and /healthz. "
                  "Empty: not served."},
                 [](Config& c, const RawValue& raw) {
                   std::string value = as_string(raw);
                   if (value.empty())
                     c.health_listen.reset();
                   else
                     c.health_listen = parse_host_port(raw.source, value);
                 }});
    v.push_back(int_key("http_body_limit_bytes", &Config::http_body_limit_bytes, 1024, 64 << 20,
                        "Max request body; larger requests get 413."));
    v.push_back(int_key("http_read_timeout_ms", &Config::http_read_timeout_ms, 100, 600000,
                        "Max time to read one request once it started."));
    v.push_back(int_key("http_max_connections", &Config::http_max_connections, 16, 100000,
                        "Open connections the public listener keeps at most; beyond it a new connection evicts the "
                        "one idle longest (or is closed at once when all are busy)."));
    v.push_back(int_key("http_idle_timeout_ms", &Config::http_idle_timeout_ms, 100, 3600000,
                        "Keep-alive connections idle longer than this are closed."));
    v.push_back(int_key("http_shutdown_grace_ms", &Config::http_shutdown_grace_ms, 0, 600000,
                        "On SIGTERM, how long in-flight requests may take to finish."));
    v.push_back(string_key("http_proxy", &Config::http_proxy, false,
                           "Proxy for outbound HTTP (http://, https://, socks5://, socks5h://).",
                           [](const RawValue& raw, const std::string& s) {
                             if (s.empty()) return;
                             for (const char* scheme : {"http://", "https://", "socks5://", "socks5h://", "socks4://"})
                               if (s.rfind(scheme, 0) == 0) return;
                             fail(raw, "must start with http://, https://, socks4://, socks5:// or socks5h://");
                           }));
    v.push_back(int_key("http_client_timeout_ms", &Config::http_client_timeout_ms, 100, 600000,
                        "Default total timeout of an outbound HTTP request."));
    v.push_back(int_key("http_client_max_connections", &Config::http_client_max_connections, 1, 10000,
                        "Max simultaneous outbound connections."));
    v.push_back(string_key("log_level", &Config::log_level, false, "trace, debug, info, warn, error, critical, off.",
                           [](const RawValue& raw, const std::string& s) {
                             if (!log::valid_level(s)) fail(raw, fmt::format("unknown log level '{}'", s));
                           }));
    v.push_back({{"roles", "", "list", "gateway,worker,scheduler", false,
                  "Roles this process runs (comma-separated in env, array in TOML)."},
                 [](Config& c, const RawValue& raw) {
                   auto roles = as_list(raw);
                   if (roles.empty()) fail(raw, "at least one role is required");
                   for (const auto& r : roles)
                     if (r != "gateway" && r != "worker" && r != "scheduler")
                       fail(raw, fmt::format("unknown role '{}' (gateway, worker, scheduler)", r));
                   c.roles = roles;
                 }});
    v.push_back(string_key("instance_id", &Config::instance_id, false,
                           "Name of this process in leases and job locks. Defaults to hostname:pid."));
    v.push_back(
        int_key("worker_concurrency", &Config::worker_concurrency, 1, 10000, "Jobs a worker process runs at once."));
    v.push_back(int_key("job_lease_ms", &Config::job_lease_ms, 1000, 86400000,
                        "A claimed job returns to the queue if its worker is silent this long."));
    v.push_back(int_key("job_poll_interval_ms", &Config::job_poll_interval_ms, 10, 600000,
                        "Idle workers poll at least this often (NOTIFY wakes them sooner)."));
    v.push_back(int_key("lease_ttl_ms", &Config::lease_ttl_ms, 1000, 3600000,
                        "Leader lease lifetime (scheduler, poller); renewed at a third of it."));
    v.push_back(string_key("telegram_api_url", &Config::telegram_api_url, false,
                           "Bot API base URL: Telegram, a local Bot API server, or the emulator.",
                           [](const RawValue& raw, const std::string& s) {
                             if (s.rfind("http://", 0) != 0 && s.rfind("https://", 0) != 0)
                               fail(raw, "must start with http:// or https://");
                           }));
    v.push_back(string_key("telegram_token", &Config::telegram_token, false,
                           "Bot token from @BotFather (required unless telegram_mode is off).",
                           [](const RawValue& raw, const std::string& s) {
                             auto colon = s.find(':');
                             if (colon == std::string::npos || colon == 0 || colon + 1 == s.size() ||
                                 s.find_first_of(" /?#") != std::string::npos)
                               fail(raw, "must look like 123456:ABC... (digits, a colon, the secret)");
                           }));
    v.push_back(string_key("telegram_mode", &Config::telegram_mode, false,
                           "webhook (production), polling (development: one poller across all processes) or off.",
                           [](const RawValue& raw, const std::string& s) {
                             if (s != "webhook" && s != "polling" && s != "off")
                               fail(raw, "must be webhook, polling or off");
                           }));
    v.push_back(string_key("telegram_webhook_secret", &Config::telegram_webhook_secret, false,
                           "Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -).",
                           [](const RawValue& raw, const std::string& s) {
                             if (s.empty() || s.size() > 256) fail(raw, "must be 1 to 256 characters");
                             for (char c : s)
                               if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
                                 fail(raw, "may only contain A-Z, a-z, 0-9, _ and -");
                           }));
    v.push_back(string_key("public_url", &Config::public_url, false,
                           "Public https URL of the gateway (webhooks are registered under it).",
                           [](const RawValue& raw, const std::string& s) {
                             if (s.rfind("http://", 0) != 0 && s.rfind("https://", 0) != 0)
                               fail(raw, "must start with https:// (or http:// for local tests)");
                           }));
    v.push_back(int_key("telegram_webhook_max_connections", &Config::telegram_webhook_max_connections, 1, 100,
                        "max_connections given to setWebhook."));
    v.push_back(int_key("telegram_poll_timeout_s", &Config::telegram_poll_timeout_s, 0, 50,
                        "Long-poll timeout of getUpdates in polling mode."));
    v.push_back(
        int_key("telegram_global_rate", &Config::telegram_global_rate, 1, 1000,
                "Messages per second to all chats (30 by Telegram's limits; up to 1000 with paid broadcasts)."));
    v.push_back(int_key("telegram_private_chat_interval_ms", &Config::telegram_private_chat_interval_ms, 0, 60000,
                        "Sustained interval between messages to one private chat (a token bucket's rate)."));
    v.push_back(int_key("telegram_private_chat_burst", &Config::telegram_private_chat_burst, 1, 20,
                        "Messages one private chat may get at once before the interval applies (a receipt, the "
                        "config file and its QR arrive together)."));
    v.push_back(int_key("telegram_group_rate_per_min", &Config::telegram_group_rate_per_min, 1, 1000,
                        "Messages per minute to one group."));
    v.push_back(int_key("telegram_update_max_attempts", &Config::telegram_update_max_attempts, 1, 100,
                        "Attempts at handling one update before the user gets an apology and it is marked failed."));
    v.push_back(int_key("telegram_send_timeout_ms", &Config::telegram_send_timeout_ms, 1000, 600000,
                        "Deadline of one Bot API call by the sender. A bulk message (broadcast, reminder) whose "
                        "sender died mid-call is declared ambiguous (never resent) this long plus 5 s after the "
                        "call started; replies, receipts and configs are resent by the next sender."));
    v.push_back(string_key("master_key_file", &Config::master_key_file, false,
                           "File with the 32-byte master key that encrypts WireGuard private keys at rest (mode "
                           "0600; scripts/setup creates one). Required by the worker role, wg-agent and admin."));
    v.push_back(int_key("vpn_device_limit", &Config::vpn_device_limit, 1, 100, "Configs one user may have."));
    v.push_back(int_key("vpn_address_grace_ms", &Config::vpn_address_grace_ms, 0, 604800000,
                        "A removed config's address returns to the pool after this long (stale clients fade out)."));
    v.push_back({{"admin_ids", "", "list", "", false, "Telegram user ids of administrators (comma-separated)."},
                 [](Config& c, const RawValue& raw) {
                   c.admin_ids.clear();
                   for (const auto& item : as_list(raw)) {
                     int64_t id = 0;
                     auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
                     if (ec != std::errc() || ptr != item.data() + item.size() || id <= 0)
                       fail(raw, fmt::format("'{}' is not a Telegram user id", item));
                     c.admin_ids.push_back(id);
                   }
                 }});
    v.push_back({{"payment_methods", "", "list", "yookassa,heleket,stars,balance", false,
                  "Payment methods offered at checkout (yookassa, heleket, stars, balance); a provider without "
                  "credentials is left out."},
                 [](Config& c, const RawValue& raw) {
                   auto methods = as_list(raw);
                   for (const auto& m : methods)
                     if (m != "yookassa" && m != "heleket" && m != "stars" && m != "balance")
                       fail(raw, fmt::format("unknown payment method '{}' (yookassa, heleket, stars, balance)", m));
                   c.payment_methods = methods;
                 }});
    v.push_back(int_key("trial_days", &Config::trial_days, 0, 365, "Free trial length; 0 turns the trial off."));
    v.push_back(int_key("trial_device_limit", &Config::trial_device_limit, 1, 100, "Configs during the trial."));
    v.push_back(int_key("order_ttl_ms", &Config::order_ttl_ms, 60000, 604800000,
                        "An unpaid order expires after this (a late payment is still honoured)."));
    v.push_back(int_list_key("referral_percents", &Config::referral_percents, "10,5,2", 0, 100, 10,
                             "Referral reward per level in percent of the purchase (the number of entries is the "
                             "depth)."));
    v.push_back(int_key("cashback_percent", &Config::cashback_percent, 0, 100,
                        "Bonus points per purchase in percent of its price (1 point = 1 RUB when exchanged)."));
    v.push_back(int_key("referral_bonus_days", &Config::referral_bonus_days, 0, 365,
                        "Extra days on the first purchase of a user who came by a referral link."));
    v.push_back(int_key("expiry_grace_ms", &Config::expiry_grace_ms, 0, 604800000,
                        "Configs keep working this long after the subscription expires."));
    v.push_back(int_list_key("reminder_hours", &Config::reminder_hours, "72,24,0", 0, 24 * 60, 10,
                             "Expiry reminders: hours before expiry (0 = at expiry), in the user's language with a "
                             "Renew button."));
    v.push_back(int_key("reminder_lookback_ms", &Config::reminder_lookback_ms, 60000, 604800000,
                        "A reminder missed (scheduler down) is still sent if at most this late."));
    v.push_back(int_key("auto_renew_before_ms", &Config::auto_renew_before_ms, 60000, 604800000,
                        "Auto-renewal from the balance happens this long before expiry."));
    v.push_back(int_key("scheduler_time_scale", &Config::scheduler_time_scale, 1, 1000000,
                        "For tests and demos only: the scheduler's clock runs this many times faster than real time."));
    v.push_back(int_key("retention_days", &Config::retention_days, 1, 3650,
                        "Handled updates, finished jobs and sent messages are deleted after this many days."));
    v.push_back(int_key("scheduler_tick_ms", &Config::scheduler_tick_ms, 10, 60000,
                        "How often the scheduler leader checks for due periodic work."));
    v.push_back(
        {{"scheduler_time_origin_ms", "", "integer", "0", false,
          "With scheduler_time_scale: the Unix ms where the fast clock starts (the same in every process); "
          "0 = process start."},
         [](Config& c, const RawValue& raw) { c.scheduler_time_origin_ms = as_int(raw, 0, int64_t(1) << 50); }});
    v.push_back({{"telegram_allow_paid_broadcast", "", "boolean", "false", false,
                  "Send broadcasts with allow_paid_broadcast (paid in Stars; raise telegram_global_rate up to 1000)."},
                 [](Config& c, const RawValue& raw) {
                   std::string s;
                   if (raw.node) {
                     auto b = raw.node->value_exact<bool>();
                     if (!b) fail(raw, "must be true or false");
                     c.telegram_allow_paid_broadcast = *b;
                     return;
                   }
                   s = *raw.text;
                   if (s != "true" && s != "false" && s != "1" && s != "0") fail(raw, "must be true or false");
                   c.telegram_allow_paid_broadcast = s == "true" || s == "1";
                 }});
    auto url_check = [](const RawValue& raw, const std::string& s) {
      if (!s.empty() && s.rfind("http://", 0) != 0 && s.rfind("https://", 0) != 0)
        fail(raw, "must start with http:// or https://");
    };
    v.push_back(string_key("yookassa_api_url", &Config::yookassa_api_url, false,
                           "YooKassa API base URL (the emulator's in the sandbox).", url_check));
    v.push_back(string_key("yookassa_shop_id", &Config::yookassa_shop_id, false, "YooKassa shopId."));
    v.push_back(string_key("yookassa_secret_key", &Config::yookassa_secret_key, false, "YooKassa secret key."));
    v.push_back(string_key("yookassa_return_url", &Config::yookassa_return_url, false,
                           "Where YooKassa's checkout returns the user (e.g. https://t.me/YourBot).", url_check));
    v.push_back(int_key("yookassa_vat_code", &Config::yookassa_vat_code, 0, 12,
                        "When > 0, payments carry 54-FZ receipt data with this VAT code."));
    v.push_back(string_key("yookassa_receipt_email", &Config::yookassa_receipt_email, false,
                           "Customer e-mail put on 54-FZ receipts (required with yookassa_vat_code)."));
    auto networks_key = [](std::string key, std::vector<std::string> Config::*field, std::string def,
                           std::string description) {
      return KeySpec{{key, "", "list", def, false, std::move(description)}, [field](Config& c, const RawValue& raw) {
                       auto items = as_list(raw);
                       for (const auto& item : items) {
                         try {
                           parse_network(item);
                         } catch (const std::invalid_argument& e) {
                           fail(raw, e.what());
                         }
                       }
                       c.*field = items;
                     }};
    };
    v.push_back(networks_key("yookassa_allowed_ips", &Config::yookassa_allowed_ips, "YooKassa's published ranges",
                             "Addresses/networks YooKassa notifications may come from (they are unsigned)."));
    v.push_back(string_key("heleket_api_url", &Config::heleket_api_url, false, "Heleket API base URL.", url_check));
    v.push_back(string_key("heleket_merchant", &Config::heleket_merchant, false, "Heleket merchant uuid."));
    v.push_back(string_key("heleket_api_key", &Config::heleket_api_key, false,
                           "Heleket payment API key (signs requests and webhooks)."));
    v.push_back(networks_key("heleket_allowed_ips", &Config::heleket_allowed_ips, "",
                             "Optional: addresses Heleket webhooks may come from (the signature is always checked)."));
    v.push_back(networks_key("trusted_proxies", &Config::trusted_proxies, "",
                             "Reverse proxies whose X-Forwarded-For is believed for the client address."));
    for (auto& s : v) {
      s.doc.env = "VPNBOT_" + s.doc.key;
      std::transform(s.doc.env.begin(), s.doc.env.end(), s.doc.env.begin(), ::toupper);
    }
    return v;
  }();
  return all;
}

}  // namespace

std::vector<std::string> Config::enabled_payment_methods() const {
  std::vector<std::string> out;
  for (const auto& m : payment_methods) {
    if (m == "yookassa" && (yookassa_shop_id.empty() || yookassa_secret_key.empty())) continue;
    if (m == "heleket" && (heleket_merchant.empty() || heleket_api_key.empty())) continue;
    out.push_back(m);
  }
  return out;
}

bool Config::has_role(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

HostPort parse_host_port(const std::string& key, const std::string& value) {
  auto colon = value.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size())
    throw ConfigError(fmt::format("config {}: '{}' must be host:port", key, value));
  HostPort hp;
  hp.host = value.substr(0, colon);
  if (hp.host.size() > 2 && hp.host.front() == '[' && hp.host.back() == ']')
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  int port = 0;
  auto ps = value.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || ptr != ps.data() + ps.size() || port < 0 || port > 65535)
    throw ConfigError(fmt::format("config {}: port '{}' must be 0..65535", key, ps));
  hp.port = static_cast<uint16_t>(port);
  return hp;
}

std::vector<ConfigKeyDoc> config_keys() {
  std::vector<ConfigKeyDoc> out;
  for (const auto& s : specs()) out.push_back(s.doc);
  return out;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

Config load_config(const std::optional<std::string>& toml_path, const std::map<std::string, std::string>& env,
                   bool require_database) {
  Config config;
  std::set<std::string> provided;
  auto find_spec = [](std::string_view key) -> const KeySpec* {
    for (const auto& s : specs())
      if (s.doc.key == key) return &s;
    return nullptr;
  };

  toml::table table;
  if (toml_path) {
    try {
      table = toml::parse_file(*toml_path);
    } catch (const toml::parse_error& e) {
      throw ConfigError(
          fmt::format("config file {}: {} (line {})", *toml_path, e.description(), e.source().begin.line));
    }
    for (const auto& [key, node] : table) {
      const KeySpec* spec = find_spec(key.str());
      if (!spec) throw ConfigError(fmt::format("config file {}: unknown key '{}'", *toml_path, key.str()));
      spec->set(config, RawValue{&node, std::nullopt, fmt::format("key '{}' in {}", key.str(), *toml_path)});
      provided.insert(spec->doc.key);
    }
  }

  for (const auto& [name, value] : env) {
    if (name.rfind("VPNBOT_", 0) != 0) continue;
    const KeySpec* spec = nullptr;
    for (const auto& s : specs())
      if (s.doc.env == name) spec = &s;
    // A typo in an env var silently falls back to a default otherwise.
    if (!spec) throw ConfigError(fmt::format("config env {}: unknown setting", name));
    spec->set(config, RawValue{nullptr, value, fmt::format("env {}", name)});
    provided.insert(spec->doc.key);
  }

  for (const auto& s : specs()) {
    if (!s.doc.required || provided.count(s.doc.key)) continue;
    if (s.doc.key == "database_url" && !require_database) continue;
    throw ConfigError(fmt::format("config: required key '{}' (env {}) is missing", s.doc.key, s.doc.env));
  }
  if (config.telegram_mode != "off" && config.telegram_token.empty())
    throw ConfigError("config: telegram_token (env VPNBOT_TELEGRAM_TOKEN) is required when telegram_mode is " +
                      config.telegram_mode);
  if (config.telegram_mode == "webhook") {
    if (config.telegram_webhook_secret.empty())
      throw ConfigError(
          "config: telegram_webhook_secret (env VPNBOT_TELEGRAM_WEBHOOK_SECRET) is required in webhook mode");
    if (config.public_url.empty())
      throw ConfigError("config: public_url (env VPNBOT_PUBLIC_URL) is required in webhook mode");
  }
  if (config.database_listen_url.empty()) config.database_listen_url = config.database_url;
  if (config.instance_id.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    config.instance_id = fmt::format("{}:{}", host, getpid());
  }
  return config;
}

}  // namespace vpnbot
