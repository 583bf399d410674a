// Config: defaults, TOML file, env overrides, and rejection of bad input naming the key.
#include <gtest/gtest.h>

#include <fstream>

#include "config/config.hpp"

using namespace vpnbot;

namespace {
std::string write_file(const std::string& text) {
  char path[] = "/tmp/vpnbot-config-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::optional<std::string>& file, const std::map<std::string, std::string>& env) {
  try {
    load_config(file, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Config, DefaultsAndRequiredDatabase) {
  auto c = load_config(std::nullopt, {{"VPNBOT_DATABASE_URL", "postgresql:///x"}});
  EXPECT_EQ(c.db.pool_max, 8);
  EXPECT_EQ(c.http.listen.host, "127.0.0.1");
  EXPECT_EQ(c.http.listen.port, 8080);
  EXPECT_EQ(c.db.listen_url, "postgresql:///x");
  EXPECT_TRUE(c.has_role("gateway") && c.has_role("worker") && c.has_role("scheduler"));
  EXPECT_FALSE(c.process.instance_id.empty());
  EXPECT_NE(error_of(std::nullopt, {}).find("database_url"), std::string::npos);
}

TEST(Config, EnvOverridesFile) {
  auto file = write_file(
      "database_url = \"postgresql:///file\"\ndb_pool_max = 4\nroles = [\"worker\"]\n"
      "http_listen = \"[::1]:9000\"\n");
  auto c = load_config(file, {{"VPNBOT_DB_POOL_MAX", "16"}, {"PATH", "/bin"}});
  EXPECT_EQ(c.db.url, "postgresql:///file");
  EXPECT_EQ(c.db.pool_max, 16);
  EXPECT_EQ(c.process.roles, std::vector<std::string>{"worker"});
  EXPECT_EQ(c.http.listen.host, "::1");
  EXPECT_EQ(c.http.listen.port, 9000);
  auto c2 = load_config(file, {{"VPNBOT_ROLES", "gateway, scheduler"}});
  EXPECT_EQ(c2.process.roles, (std::vector<std::string>{"gateway", "scheduler"}));
}

struct BadInput {
  std::string file;
  std::map<std::string, std::string> env;
  std::string expected_key;
  std::string expected_reason;
};

class ConfigRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(ConfigRejects, NamesTheKey) {
  const auto& p = GetParam();
  std::map<std::string, std::string> env = p.env;
  if (!env.count("VPNBOT_DATABASE_URL") && p.file.find("database_url") == std::string::npos)
    env["VPNBOT_DATABASE_URL"] = "postgresql:///x";
  auto file = p.file.empty() ? std::nullopt : std::optional(write_file(p.file));
  auto message = error_of(file, env);
  EXPECT_NE(message.find(p.expected_key), std::string::npos) << message;
  EXPECT_NE(message.find(p.expected_reason), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    All, ConfigRejects,
    ::testing::Values(
        BadInput{"", {{"VPNBOT_DB_POOL_MAX", "many"}}, "VPNBOT_DB_POOL_MAX", "not an integer"},
        BadInput{"", {{"VPNBOT_DB_POOL_MAX", "0"}}, "VPNBOT_DB_POOL_MAX", "out of range"},
        BadInput{"", {{"VPNBOT_DB_POOL_MAX", "8x"}}, "VPNBOT_DB_POOL_MAX", "not an integer"},
        BadInput{"", {{"VPNBOT_HTTP_LISTEN", "8080"}}, "VPNBOT_HTTP_LISTEN", "host:port"},
        BadInput{"", {{"VPNBOT_HTTP_LISTEN", "0.0.0.0:99999"}}, "VPNBOT_HTTP_LISTEN", "0..65535"},
        BadInput{"", {{"VPNBOT_LOG_LEVEL", "loud"}}, "VPNBOT_LOG_LEVEL", "unknown log level"},
        BadInput{"", {{"VPNBOT_ROLES", "gateway,cron"}}, "VPNBOT_ROLES", "unknown role 'cron'"},
        BadInput{"", {{"VPNBOT_HTTP_PROXY", "ftp://x"}}, "VPNBOT_HTTP_PROXY", "socks5"},
        BadInput{"", {{"VPNBOT_DB_POOL_MAXX", "3"}}, "VPNBOT_DB_POOL_MAXX", "unknown setting"},
        BadInput{"db_pool_max = \"8\"\n", {}, "db_pool_max", "must be an integer"},
        BadInput{"colour = \"red\"\n", {}, "colour", "unknown key"},
        BadInput{"roles = \"worker\"\n", {}, "roles", "array of strings"},
        BadInput{"database_url = 5\n", {}, "database_url", "must be a string"},
        BadInput{"db_pool_max = = 3\n", {}, "config file", "line 1"},
        BadInput{"", {{"VPNBOT_TIME_ZONE", "Mars/Olympus"}}, "VPNBOT_TIME_ZONE", "unknown time zone"},
        BadInput{"",
                 {{"VPNBOT_REQUIRED_CHANNELS", "@news,vpn_news"}},
                 "VPNBOT_REQUIRED_CHANNELS",
                 "'@news' is not a public channel's @username"},
        BadInput{"", {{"VPNBOT_REQUIRED_CHANNELS", "@vpn-news"}}, "VPNBOT_REQUIRED_CHANNELS", "not a public channel"},
        BadInput{
            "", {{"VPNBOT_CHANNEL_LEFT_POLICY", "kick"}}, "VPNBOT_CHANNEL_LEFT_POLICY", "suspend_purchases or ignore"},
        BadInput{"", {{"VPNBOT_RULES_VERSION", "2"}}, "VPNBOT_RULES_TEXT_EN", "required when rules_version"},
        BadInput{
            "", {{"VPNBOT_RULES_TEXT_RU", std::string(3801, 'x')}}, "VPNBOT_RULES_TEXT_RU", "over 3800 characters"},
        // Checks declared in the sections' settings.json: allowed values, list items, integer lists, networks.
        BadInput{
            "", {{"VPNBOT_TELEGRAM_MODE", "push"}}, "VPNBOT_TELEGRAM_MODE", "'push' must be webhook, polling or off"},
        BadInput{"",
                 {{"VPNBOT_PAYMENT_METHODS", "stars,paypal"}},
                 "VPNBOT_PAYMENT_METHODS",
                 "'paypal' must be yookassa, heleket, cryptopay, stars or balance"},
        BadInput{"", {{"VPNBOT_ADMIN_IDS", "42,-7"}}, "VPNBOT_ADMIN_IDS", "'-7' is not a whole number"},
        BadInput{"admin_ids = [42, 7]\n", {}, "admin_ids", "array of strings"},
        BadInput{"",
                 {{"VPNBOT_TRUSTED_PROXIES", "10.0.0.0/33"}},
                 "VPNBOT_TRUSTED_PROXIES",
                 "prefix longer than the address"},
        BadInput{"", {{"VPNBOT_HEALTH_LISTEN", "localhost"}}, "VPNBOT_HEALTH_LISTEN", "host:port"},
        BadInput{"", {{"VPNBOT_TELEGRAM_TOKEN", "no-colon"}}, "VPNBOT_TELEGRAM_TOKEN", "must look like 123456:ABC"},
        BadInput{"", {{"VPNBOT_YOOKASSA_API_URL", "ftp://x"}}, "VPNBOT_YOOKASSA_API_URL", "http:// or https://"},
        BadInput{"", {{"VPNBOT_REMNAWAVE_APPS", "Happ"}}, "VPNBOT_REMNAWAVE_APPS", "expected Name=link"},
        BadInput{"", {{"VPNBOT_SUPPORT_CHAT_ID", "5"}}, "VPNBOT_SUPPORT_CHAT_ID", "out of range"}));

// The sections generated from settings.json: typed values reach their fields, defaults are the documented ones.
TEST(Config, GeneratedSectionsReadEveryTypeAndDocumentTheirDefaults) {
  auto c = load_config(std::nullopt, {{"VPNBOT_DATABASE_URL", "postgresql:///x"},
                                      {"VPNBOT_ADMIN_IDS", "42, 9007199254740993"},
                                      {"VPNBOT_PAYMENT_METHODS", "stars,balance"},
                                      {"VPNBOT_HEALTH_LISTEN", "[::1]:9100"},
                                      {"VPNBOT_TELEGRAM_ALLOW_PAID_BROADCAST", "true"},
                                      {"VPNBOT_SCHEDULER_TIME_ORIGIN_MS", "1700000000000"},
                                      {"VPNBOT_REMINDER_HOURS", "48,1"},
                                      {"VPNBOT_YOOKASSA_ALLOWED_IPS", "185.71.76.0/27"}});
  EXPECT_EQ(c.bot.admin_ids, (std::vector<int64_t>{42, 9007199254740993}));
  EXPECT_EQ(c.billing.payment_methods, (std::vector<std::string>{"stars", "balance"}));
  ASSERT_TRUE(c.http.health_listen.has_value());
  EXPECT_EQ(c.http.health_listen->host, "::1");
  EXPECT_EQ(c.http.health_listen->port, 9100);
  EXPECT_TRUE(c.telegram.allow_paid_broadcast);
  EXPECT_EQ(c.jobs.scheduler_time_origin_ms, 1700000000000);
  EXPECT_EQ(c.bot.reminder_hours, (std::vector<int>{48, 1}));
  EXPECT_EQ(c.billing.yookassa.allowed_ips, std::vector<std::string>{"185.71.76.0/27"});
  // Untouched keys keep the defaults their settings.json gives.
  EXPECT_EQ(c.telegram.api_url, "https://api.telegram.org");
  EXPECT_EQ(c.jobs.poll_interval_ms, 1000);
  EXPECT_EQ(c.bot.channel_left_policy, "suspend_purchases");

  std::map<std::string, ConfigKeyDoc> docs;
  for (const auto& doc : config_keys()) docs[doc.key] = doc;
  EXPECT_EQ(docs.at("http_listen").type, "host:port");
  EXPECT_EQ(docs.at("http_listen").default_value, "127.0.0.1:8080");
  EXPECT_EQ(docs.at("health_listen").default_value, "");
  EXPECT_EQ(docs.at("payment_methods").default_value, "yookassa,heleket,cryptopay,stars,balance");
  EXPECT_EQ(docs.at("yookassa_allowed_ips").default_value, "YooKassa's published ranges");
  EXPECT_EQ(docs.at("reminder_hours").default_value, "72,24,0");
  EXPECT_EQ(docs.at("telegram_mode").default_value, "off");
  EXPECT_EQ(docs.at("telegram_allow_paid_broadcast").type, "boolean");
  EXPECT_EQ(docs.at("job_poll_interval_ms").type, "integer");
  EXPECT_TRUE(docs.at("database_url").required);
  EXPECT_EQ(docs.at("db_pool_max").env, "VPNBOT_DB_POOL_MAX");
}

// The terms are counted in characters, as Telegram counts them: 3800 Cyrillic letters (7600 bytes) fit.
TEST(Config, RulesTextIsCountedInCharacters) {
  std::string cyrillic;
  for (int i = 0; i < 3800; ++i) cyrillic += "ж";
  auto c = load_config(std::nullopt, {{"VPNBOT_DATABASE_URL", "postgresql:///x"},
                                      {"VPNBOT_RULES_VERSION", "1"},
                                      {"VPNBOT_RULES_TEXT_EN", "Be nice."},
                                      {"VPNBOT_RULES_TEXT_RU", cyrillic}});
  EXPECT_EQ(c.bot.rules_version, 1);
  EXPECT_EQ(c.bot.rules_text_ru.size(), 7600u);
}
