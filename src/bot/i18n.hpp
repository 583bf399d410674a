#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>
#include "core/encoding.hpp"

namespace vpnbot::bot {

// Values substituted for {name} placeholders.
using TextArgs = std::vector<std::pair<std::string, std::string>>;

// Plural category of n (CLDR's integer rules): "one"/"other" for English; "one"/"few"/"many" for Russian and
// Ukrainian (1 день, 2 дні, 5 днів); "other" only for Chinese.
std::string plural_category(std::string_view language, int64_t n);

// The message catalogs (i18n/<lang>.json, embedded in the binary). A key maps to a string or, for counted
// phrases, to an object of plural forms. Unknown languages fall back to English; a missing key is a bug that
// the completeness test catches, and at run time shows the key itself instead of crashing.
class Catalog {
 public:
  static const Catalog& embedded();
  explicit Catalog(const std::map<std::string, std::string>& files);

  std::string text(std::string_view language, std::string_view key, const TextArgs& args = {}) const;
  // Picks the plural form for n and substitutes {n} as well as args.
  std::string plural(std::string_view language, std::string_view key, int64_t n, const TextArgs& args = {}) const;

  std::vector<std::string> languages() const;
  bool has_language(std::string_view language) const { return catalogs_.find(language) != catalogs_.end(); }
  std::vector<std::string> keys(std::string_view language) const;
  const nlohmann::json* entry(std::string_view language, std::string_view key) const;
  static std::string normalize_language(std::string_view telegram_language_code);

 private:
  std::map<std::string, nlohmann::json, std::less<>> catalogs_;
};

std::string substitute(std::string text, const TextArgs& args);
using vpnbot::html_escape;

}  // namespace vpnbot::bot
