#include "core/config.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "core/log.hpp"

extern char** environ;

namespace vpnbot {

void ConfigValue::fail(const std::string& why) const {
  throw ConfigError(fmt::format("config {}: {}", source_, why));
}

int64_t ConfigValue::as_int(int64_t min, int64_t max) const {
  int64_t value = 0;
  if (node_) {
    auto v = static_cast<const toml::node*>(node_)->value_exact<int64_t>();
    if (!v) fail("must be an integer");
    value = *v;
  } else {
    const std::string& s = *text_;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) fail(fmt::format("'{}' is not an integer", s));
  }
  if (value < min || value > max) fail(fmt::format("{} is out of range [{}, {}]", value, min, max));
  return value;
}

std::string ConfigValue::as_string() const {
  if (node_) {
    auto v = static_cast<const toml::node*>(node_)->value_exact<std::string>();
    if (!v) fail("must be a string");
    return *v;
  }
  return *text_;
}

std::vector<std::string> ConfigValue::as_list() const {
  std::vector<std::string> out;
  if (node_) {
    const auto* arr = static_cast<const toml::node*>(node_)->as_array();
    if (!arr) fail("must be an array of strings");
    for (const auto& el : *arr) {
      auto v = el.value_exact<std::string>();
      if (!v) fail("must be an array of strings");
      out.push_back(*v);
    }
    return out;
  }
  std::string cur;
  for (char c : *text_ + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else if (c != ' ') {
      cur += c;
    }
  }
  return out;
}

bool ConfigValue::as_bool() const {
  if (node_) {
    auto b = static_cast<const toml::node*>(node_)->value_exact<bool>();
    if (!b) fail("must be true or false");
    return *b;
  }
  const std::string& s = *text_;
  if (s != "true" && s != "false" && s != "1" && s != "0") fail("must be true or false");
  return s == "true" || s == "1";
}

std::string join(const std::vector<int>& values, const char* separator) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) out += (i ? separator : "") + std::to_string(values[i]);
  return out;
}

namespace {

template <class Integer>
void set_integer_list(const ConfigValue& v, std::vector<Integer>& field, Integer min, Integer max, size_t max_items) {
  std::vector<Integer> values;
  for (const auto& item : v.as_list()) {
    Integer n = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), n);
    if (ec != std::errc() || ptr != item.data() + item.size() || n < min || n > max)
      v.fail(fmt::format("'{}' is not a whole number in [{}, {}]", item, min, max));
    values.push_back(n);
  }
  if (values.size() > max_items) v.fail(fmt::format("at most {} entries", max_items));
  field = std::move(values);
}

std::string host_port_text(const HostPort& hp) {
  if (hp.host.find(':') != std::string::npos) return fmt::format("[{}]:{}", hp.host, hp.port);
  return fmt::format("{}:{}", hp.host, hp.port);
}

// A check's std::invalid_argument (a parser's own error) is bad input too, named like v.fail's.
void run_check(const ConfigSchema::Check& check, const ConfigValue& v, const std::string& value) {
  try {
    if (check) check(v, value);
  } catch (const std::invalid_argument& e) {
    v.fail(e.what());
  }
}

}  // namespace

void ConfigSchema::add(std::string key, std::string type, std::string default_value, bool required,
                       std::string description, Setter set) {
  if (find(key)) throw std::logic_error("config key declared twice: " + key);
  std::string env = "VPNBOT_" + key;
  std::transform(env.begin(), env.end(), env.begin(), ::toupper);
  keys_.push_back(
      {{std::move(key), std::move(env), std::move(type), std::move(default_value), required, std::move(description)},
       std::move(set)});
}

void ConfigSchema::integer(std::string key, int& field, int min, int max, std::string description) {
  add(std::move(key), "integer", std::to_string(field), false, std::move(description),
      [&field, min, max](const ConfigValue& v) { field = static_cast<int>(v.as_int(min, max)); });
}

void ConfigSchema::integer(std::string key, int64_t& field, int64_t min, int64_t max, std::string description) {
  add(std::move(key), "integer", std::to_string(field), false, std::move(description),
      [&field, min, max](const ConfigValue& v) { field = v.as_int(min, max); });
}

void ConfigSchema::string(std::string key, std::string& field, bool required, std::string description, Check check) {
  add(std::move(key), "string", field, required, std::move(description),
      [&field, check = std::move(check)](const ConfigValue& v) {
        auto s = v.as_string();
        run_check(check, v, s);
        field = std::move(s);
      });
}

void ConfigSchema::boolean(std::string key, bool& field, std::string description) {
  add(std::move(key), "boolean", field ? "true" : "false", false, std::move(description),
      [&field](const ConfigValue& v) { field = v.as_bool(); });
}

void ConfigSchema::integer_list(std::string key, std::vector<int>& field, int min, int max, size_t max_items,
                                std::string description) {
  add(std::move(key), "list", join(field), false, std::move(description),
      [&field, min, max, max_items](const ConfigValue& v) { set_integer_list(v, field, min, max, max_items); });
}

void ConfigSchema::integer_list(std::string key, std::vector<int64_t>& field, int64_t min, int64_t max,
                                size_t max_items, std::string description) {
  add(std::move(key), "list", fmt::format("{}", fmt::join(field, ",")), false, std::move(description),
      [&field, min, max, max_items](const ConfigValue& v) { set_integer_list(v, field, min, max, max_items); });
}

void ConfigSchema::list(std::string key, std::vector<std::string>& field, std::string description, Check item_check,
                        std::string default_description) {
  std::string default_text =
      default_description.empty() ? fmt::format("{}", fmt::join(field, ",")) : std::move(default_description);
  add(std::move(key), "list", std::move(default_text), false, std::move(description),
      [&field, item_check = std::move(item_check)](const ConfigValue& v) {
        auto items = v.as_list();
        for (const auto& item : items) run_check(item_check, v, item);
        field = std::move(items);
      });
}

void ConfigSchema::host_port(std::string key, HostPort& field, std::string description) {
  add(std::move(key), "host:port", host_port_text(field), false, std::move(description),
      [&field](const ConfigValue& v) { field = parse_host_port(v.source(), v.as_string()); });
}

void ConfigSchema::host_port(std::string key, std::optional<HostPort>& field, std::string description) {
  add(std::move(key), "host:port", field ? host_port_text(*field) : "", false, std::move(description),
      [&field](const ConfigValue& v) {
        std::string value = v.as_string();
        if (value.empty())
          field.reset();
        else
          field = parse_host_port(v.source(), value);
      });
}

ConfigSchema::Check ConfigSchema::one_of(std::vector<std::string> values) {
  std::string alternatives;
  for (size_t i = 0; i < values.size(); ++i)
    alternatives += (i == 0 ? "" : i + 1 == values.size() ? " or " : ", ") + values[i];
  return [values = std::move(values), alternatives](const ConfigValue& v, const std::string& value) {
    if (std::find(values.begin(), values.end(), value) == values.end())
      v.fail(fmt::format("'{}' must be {}", value, alternatives));
  };
}

const ConfigSchema::Key* ConfigSchema::find(const std::string& key) const {
  for (const auto& k : keys_)
    if (k.doc.key == key) return &k;
  return nullptr;
}

std::vector<ConfigKeyDoc> ConfigSchema::docs() const {
  std::vector<ConfigKeyDoc> out;
  for (const auto& k : keys_) out.push_back(k.doc);
  return out;
}

void ConfigSchema::load(const std::optional<std::string>& toml_path, const std::map<std::string, std::string>& env,
                        const std::set<std::string>& not_required) {
  std::set<std::string> provided;
  toml::table table;
  if (toml_path) {
    try {
      table = toml::parse_file(*toml_path);
    } catch (const toml::parse_error& e) {
      throw ConfigError(
          fmt::format("config file {}: {} (line {})", *toml_path, e.description(), e.source().begin.line));
    }
    for (const auto& [key, node] : table) {
      const Key* spec = find(std::string(key.str()));
      if (!spec) throw ConfigError(fmt::format("config file {}: unknown key '{}'", *toml_path, key.str()));
      ConfigValue value;
      value.node_ = &node;
      value.source_ = fmt::format("key '{}' in {}", key.str(), *toml_path);
      spec->set(value);
      provided.insert(spec->doc.key);
    }
  }
  for (const auto& [name, text] : env) {
    if (name.rfind("VPNBOT_", 0) != 0) continue;
    const Key* spec = nullptr;
    for (const auto& k : keys_)
      if (k.doc.env == name) spec = &k;
    // A typo in an env var silently falls back to a default otherwise.
    if (!spec) throw ConfigError(fmt::format("config env {}: unknown setting", name));
    ConfigValue value;
    value.text_ = text;
    value.source_ = fmt::format("env {}", name);
    spec->set(value);
    provided.insert(spec->doc.key);
  }
  for (const auto& k : keys_) {
    if (!k.doc.required || provided.count(k.doc.key) || not_required.count(k.doc.key)) continue;
    throw ConfigError(fmt::format("config: required key '{}' (env {}) is missing", k.doc.key, k.doc.env));
  }
}

void declare_settings(ConfigSchema& schema, ProcessSettings& s) {
  schema.string("log_level", s.log_level, false, "trace, debug, info, warn, error, critical, off.",
                [](const ConfigValue& v, const std::string& level) {
                  if (!log::valid_level(level)) v.fail(fmt::format("unknown log level '{}'", level));
                });
  schema.add("roles", "list", "gateway,worker,scheduler", false,
             "Roles this process runs (comma-separated in env, array in TOML).", [&s](const ConfigValue& v) {
               auto roles = v.as_list();
               if (roles.empty()) v.fail("at least one role is required");
               for (const auto& r : roles)
                 if (r != "gateway" && r != "worker" && r != "scheduler")
                   v.fail(fmt::format("unknown role '{}' (gateway, worker, scheduler)", r));
               s.roles = roles;
             });
  schema.string("instance_id", s.instance_id, false,
                "Name of this process in leases and job locks. Defaults to hostname:pid.");
}

void finish_settings(ProcessSettings& s) {
  if (!s.instance_id.empty()) return;
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  s.instance_id = fmt::format("{}:{}", host, getpid());
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

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return env;
}

}  // namespace vpnbot
