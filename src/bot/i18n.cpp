#include "bot/i18n.hpp"

#include <stdexcept>

namespace vpnbot {
const std::map<std::string, std::string>& embedded_catalogs();
}

namespace vpnbot::bot {

std::string plural_category(std::string_view language, int64_t n) {
  uint64_t a = n < 0 ? static_cast<uint64_t>(-n) : static_cast<uint64_t>(n);
  if (language == "zh") return "other";  // Chinese does not inflect for number
  if (language == "ru" || language == "uk") {
    if (a % 10 == 1 && a % 100 != 11) return "one";
    if (a % 10 >= 2 && a % 10 <= 4 && (a % 100 < 12 || a % 100 > 14)) return "few";
    return "many";
  }
  return a == 1 ? "one" : "other";
}

std::string substitute(std::string text, const TextArgs& args) {
  for (const auto& [name, value] : args) {
    std::string token = "{" + name + "}";
    for (size_t pos = text.find(token); pos != std::string::npos; pos = text.find(token, pos + value.size()))
      text.replace(pos, token.size(), value);
  }
  return text;
}

const Catalog& Catalog::embedded() {
  static const Catalog catalog(embedded_catalogs());
  return catalog;
}

Catalog::Catalog(const std::map<std::string, std::string>& files) {
  for (const auto& [name, contents] : files) {
    auto dot = name.rfind('.');
    std::string language = name.substr(0, dot);
    auto parsed = nlohmann::json::parse(contents, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
      throw std::runtime_error("i18n: catalog " + name + " is not a JSON object");
    catalogs_[language] = std::move(parsed);
  }
  if (!catalogs_.count("en")) throw std::runtime_error("i18n: the English catalog (en.json) is missing");
}

std::string Catalog::normalize_language(std::string_view code) {
  auto base = code.substr(0, 2);
  if (base == "ru" || base == "be" || base == "kk") return "ru";  // Russian is the closest catalog for these users
  if (base == "uk") return "uk";
  if (base == "zh") return "zh";  // Simplified Chinese for every zh-* (Telegram sends zh-hans, zh-hant, zh-cn ...)
  return "en";
}

const nlohmann::json* Catalog::entry(std::string_view language, std::string_view key) const {
  auto lang = catalogs_.find(language);
  if (lang == catalogs_.end()) lang = catalogs_.find("en");
  auto it = lang->second.find(std::string(key));
  if (it == lang->second.end()) {
    if (language != "en") return entry("en", key);
    return nullptr;
  }
  return &*it;
}

std::string Catalog::text(std::string_view language, std::string_view key, const TextArgs& args) const {
  const auto* e = entry(language, key);
  if (!e || !e->is_string()) return std::string(key);
  return substitute(e->get<std::string>(), args);
}

std::string Catalog::plural(std::string_view language, std::string_view key, int64_t n, const TextArgs& args) const {
  const auto* e = entry(language, key);
  if (!e || !e->is_object()) return std::string(key);
  auto form = e->find(plural_category(language, n));
  if (form == e->end()) form = e->find("other");
  if (form == e->end() || !form->is_string()) return std::string(key);
  TextArgs all = args;
  all.push_back({"n", std::to_string(n)});
  return substitute(form->get<std::string>(), all);
}

std::vector<std::string> Catalog::languages() const {
  std::vector<std::string> out;
  for (const auto& [lang, _] : catalogs_) out.push_back(lang);
  return out;
}

std::vector<std::string> Catalog::keys(std::string_view language) const {
  std::vector<std::string> out;
  auto it = catalogs_.find(language);
  if (it == catalogs_.end()) return out;
  for (const auto& [key, _] : it->second.items()) out.push_back(key);
  return out;
}

}  // namespace vpnbot::bot
