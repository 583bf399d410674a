// The config file and env values: any TOML text and any value of any setting is either accepted or refused with a
// ConfigError that says why; nothing else escapes and nothing crashes.
#include <unistd.h>

#include <fstream>
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const struct TempFile {
    std::string path = "/tmp/vpnbot-fuzz-config-" + std::to_string(getpid()) + ".toml";
    ~TempFile() { unlink(path.c_str()); }
  } temp;
  const std::string& path = temp.path;
  static const auto keys = vpnbot::config_keys();
  std::string input(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> env{{"VPNBOT_DATABASE_URL", "postgresql://localhost/vpnbot"}};
  std::optional<std::string> file;
  if (!input.empty() && input[0] == '=') {
    // "=<n><value>": the value of the n-th setting, as an env var.
    if (input.size() < 2) return 0;
    const auto& key = keys[static_cast<unsigned char>(input[1]) % keys.size()];
    env[key.env] = input.substr(2);
  } else {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << input;
    file = path;
  }
  try {
    vpnbot::load_config(file, env, false);
  } catch (const vpnbot::ConfigError&) {
  }
  return 0;
}
