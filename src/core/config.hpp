#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
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

// Documentation of one key, as printed by `vpnbot config keys` and in docs/CONFIG.md.
struct ConfigKeyDoc {
  std::string key;  // TOML key; the env var is VPNBOT_ + upper(key)
  std::string env;
  std::string type;
  std::string default_value;
  bool required;
  std::string description;
};

// One value as given, from the TOML file (typed) or the environment (text). The readers raise ConfigError naming
// where the value came from.
class ConfigValue {
 public:
  int64_t as_int(int64_t min, int64_t max) const;
  std::string as_string() const;
  std::vector<std::string> as_list() const;  // comma-separated in env, an array of strings in TOML
  bool as_bool() const;
  [[noreturn]] void fail(const std::string& why) const;
  const std::string& source() const { return source_; }

 private:
  friend class ConfigSchema;
  const void* node_ = nullptr;  // a toml::node from the file; null for text from the environment
  std::optional<std::string> text_;
  std::string source_;
};

// The keys of every section of the one config: each domain declares its own section's keys, bound to the section's
// fields (a key's documented default is the field's value when declared). load() applies the file, then the
// environment; unknown keys, wrong types, out-of-range values and missing required keys raise ConfigError.
class ConfigSchema {
 public:
  using Setter = std::function<void(const ConfigValue&)>;
  // Refuses a value by v.fail(why) or by throwing std::invalid_argument (e.g. a parser's own error), either way
  // reported as bad input naming the key.
  using Check = std::function<void(const ConfigValue&, const std::string&)>;

  void add(std::string key, std::string type, std::string default_value, bool required, std::string description,
           Setter set);
  void integer(std::string key, int& field, int min, int max, std::string description);
  void integer(std::string key, int64_t& field, int64_t min, int64_t max, std::string description);
  void string(std::string key, std::string& field, bool required, std::string description, Check check = {});
  void boolean(std::string key, bool& field, std::string description);
  // A list of integers, each in [min, max], at most max_items of them.
  void integer_list(std::string key, std::vector<int>& field, int min, int max, size_t max_items,
                    std::string description);
  void integer_list(std::string key, std::vector<int64_t>& field, int64_t min, int64_t max, size_t max_items,
                    std::string description);
  // A list of strings, each passed to item_check; default_description documents a default the empty list stands
  // for (else the field's items are).
  void list(std::string key, std::vector<std::string>& field, std::string description, Check item_check,
            std::string default_description);
  void host_port(std::string key, HostPort& field, std::string description);
  // An empty value leaves it unset.
  void host_port(std::string key, std::optional<HostPort>& field, std::string description);
  // A check that the value is one of these ("'x' must be a, b or c").
  static Check one_of(std::vector<std::string> values);

  // `not_required`: required keys that this command does without (e.g. database_url for `config keys`).
  void load(const std::optional<std::string>& toml_path, const std::map<std::string, std::string>& env,
            const std::set<std::string>& not_required = {});
  std::vector<ConfigKeyDoc> docs() const;

 private:
  struct Key {
    ConfigKeyDoc doc;
    Setter set;
  };
  const Key* find(const std::string& key) const;
  std::vector<Key> keys_;
};

// What every process has: its roles, its name in leases and locks, its log level.
struct ProcessSettings {
  std::string log_level = "info";
  std::vector<std::string> roles{"gateway", "worker", "scheduler"};
  std::string instance_id;  // default hostname:pid
};
void declare_settings(ConfigSchema& schema, ProcessSettings& settings);
// Defaults what was left empty.
void finish_settings(ProcessSettings& settings);

std::map<std::string, std::string> process_environment();
HostPort parse_host_port(const std::string& key, const std::string& value);
std::string join(const std::vector<int>& values, const char* separator = ",");

}  // namespace vpnbot
