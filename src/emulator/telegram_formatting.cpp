#include "emulator/telegram_formatting.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string_view>
#include <vector>

namespace vpnbot::emulator {
namespace {

[[noreturn]] void refuse(const std::string& why) {
  throw FormattingError("Bad Request: can't parse entities: " + why);
}

void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

// An HTML entity at text[pos] ('&'): the character, and pos moved past it; 0 (pos unchanged) when it is none the
// Bot API knows, and the '&' then stands for itself.
uint32_t decode_entity(std::string_view text, size_t& pos) {
  size_t end = pos + 1;
  uint32_t value = 0;
  auto at = [&](size_t i) { return i < text.size() ? text[i] : '\0'; };
  if (at(end) == '#') {
    ++end;
    bool hex = at(end) == 'x';
    if (hex) ++end;
    while (hex ? std::isxdigit(static_cast<unsigned char>(at(end)))
               : std::isdigit(static_cast<unsigned char>(at(end)))) {
      char c = at(end++);
      uint32_t digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10);
      value = std::min<uint32_t>(value * (hex ? 16 : 10) + digit, 0x110000);
    }
    if (value == 0 || value >= 0x10ffff || end - pos >= 10) return 0;
  } else {
    while (std::isalpha(static_cast<unsigned char>(at(end)))) ++end;
    std::string_view name = text.substr(pos + 1, end - pos - 1);
    if (name == "lt")
      value = '<';
    else if (name == "gt")
      value = '>';
    else if (name == "amp")
      value = '&';
    else if (name == "quot")
      value = '"';
    else
      return 0;
  }
  pos = at(end) == ';' ? end + 1 : end;
  return value;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

constexpr std::array<std::string_view, 16> kTags{"a",      "b",          "strong",   "i",         "em",  "s",
                                                 "strike", "del",        "u",        "ins",       "pre", "code",
                                                 "span",   "tg-spoiler", "tg-emoji", "blockquote"};

}  // namespace

std::string visible_text(const std::string& input, const std::string& parse_mode) {
  if (parse_mode.empty()) return input;
  if (parse_mode != "HTML") throw FormattingError("Bad Request: unsupported parse_mode");
  std::string_view text = input;
  auto at = [&](size_t i) { return i < text.size() ? text[i] : '\0'; };
  std::string out;
  std::vector<std::string> open;  // the tags not closed yet, innermost last
  for (size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c == '&') {
      size_t next = i;
      if (uint32_t ch = decode_entity(text, next)) {
        append_utf8(out, ch);
        i = next;
        continue;
      }
    }
    if (c != '<') {
      out += c;
      ++i;
      continue;
    }
    size_t begin = i++;
    if (at(i) != '/') {
      while (i < text.size() && !is_space(text[i]) && text[i] != '>') ++i;
      if (i >= text.size()) refuse("Unclosed start tag at byte offset " + std::to_string(begin));
      std::string tag(text.substr(begin + 1, i - begin - 1));
      std::transform(tag.begin(), tag.end(), tag.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (std::find(kTags.begin(), kTags.end(), tag) == kTags.end())
        refuse("Unsupported start tag \"" + tag + "\" at byte offset " + std::to_string(begin));
      bool spoiler_class = false;
      while (at(i) != '>') {
        while (i < text.size() && is_space(text[i])) ++i;
        if (at(i) == '>') break;
        size_t name_begin = i;
        while (i < text.size() && !is_space(text[i]) && text[i] != '=' && text[i] != '>') ++i;
        std::string_view attribute = text.substr(name_begin, i - name_begin);
        if (attribute.empty())
          refuse("Empty attribute name in the tag \"" + tag + "\" at byte offset " + std::to_string(begin));
        while (i < text.size() && is_space(text[i])) ++i;
        std::string value;
        if (at(i) != '=') {
          // A bare attribute: only `expandable` on a blockquote.
          if (!(tag == "blockquote" && attribute == "expandable"))
            refuse("Expected equal sign in declaration of an attribute of the tag \"" + tag + "\" at byte offset " +
                   std::to_string(begin));
        } else {
          ++i;
          while (i < text.size() && is_space(text[i])) ++i;
          if (i >= text.size()) refuse("Unclosed start tag \"" + tag + "\" at byte offset " + std::to_string(begin));
          if (text[i] != '\'' && text[i] != '"') {
            size_t token = i;
            while (std::isalnum(static_cast<unsigned char>(at(i))) || at(i) == '.' || at(i) == '-') ++i;
            value = std::string(text.substr(token, i - token));
            if (!is_space(at(i)) && at(i) != '>')
              refuse("Unexpected end of name token at byte offset " + std::to_string(token));
          } else {
            char quote = text[i++];
            while (i < text.size() && text[i] != quote) {
              size_t next = i;
              if (text[i] == '&') {
                if (uint32_t ch = decode_entity(text, next)) {
                  append_utf8(value, ch);
                  i = next;
                  continue;
                }
              }
              value += text[i++];
            }
            if (at(i) == quote) ++i;
          }
          if (i >= text.size()) refuse("Unclosed start tag at byte offset " + std::to_string(begin));
        }
        if (tag == "span" && attribute == "class" && value == "tg-spoiler") spoiler_class = true;
      }
      if (tag == "span" && !spoiler_class)
        refuse("Tag \"span\" must have class \"tg-spoiler\" at byte offset " + std::to_string(begin));
      open.push_back(tag);
      ++i;  // '>'
    } else {
      if (open.empty()) refuse("Unexpected end tag at byte offset " + std::to_string(begin));
      ++i;
      size_t name_begin = i;
      while (i < text.size() && !is_space(text[i]) && text[i] != '>') ++i;
      std::string end_tag(text.substr(name_begin, i - name_begin));
      while (i < text.size() && is_space(text[i])) ++i;
      if (at(i) != '>') refuse("Unclosed end tag at byte offset " + std::to_string(begin));
      ++i;
      if (!end_tag.empty() && end_tag != open.back())
        refuse("Unmatched end tag at byte offset " + std::to_string(begin) + ", expected \"</" + open.back() +
               ">\", found \"</" + end_tag + ">\"");
      open.pop_back();
    }
  }
  if (!open.empty()) refuse("Can't find end tag corresponding to start tag \"" + open.back() + "\"");
  return out;
}

void check_inline_keyboard(const nlohmann::json& markup) {
  if (!markup.is_object() || !markup.contains("inline_keyboard")) return;
  const auto& rows = markup["inline_keyboard"];
  if (!rows.is_array()) throw FormattingError("Bad Request: field \"inline_keyboard\" must be an Array");
  static constexpr std::array<const char*, 10> kActions{"url",
                                                        "callback_data",
                                                        "web_app",
                                                        "login_url",
                                                        "switch_inline_query",
                                                        "switch_inline_query_current_chat",
                                                        "switch_inline_query_chosen_chat",
                                                        "copy_text",
                                                        "callback_game",
                                                        "pay"};
  for (const auto& row : rows) {
    if (!row.is_array()) throw FormattingError("Bad Request: can't parse inline keyboard button: row must be an Array");
    for (const auto& button : row) {
      if (!button.is_object() || !button.contains("text") || !button["text"].is_string())
        throw FormattingError("Bad Request: can't parse inline keyboard button: Text must be a String");
      if (button["text"].get<std::string>().empty()) throw FormattingError("Bad Request: BUTTON_TEXT_EMPTY");
      int actions = 0;
      for (const char* action : kActions) actions += button.contains(action);
      if (actions != 1)
        throw FormattingError(
            "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must have exactly one action");
      if (button.contains("callback_data")) {
        const auto& data = button["callback_data"];
        if (!data.is_string() || data.get<std::string>().empty() || data.get<std::string>().size() > 64)
          throw FormattingError("Bad Request: BUTTON_DATA_INVALID");
      }
      if (button.contains("url")) {
        // "HTTP or tg:// URL": an app's own scheme (happ://, v2raytun://) is refused, which is why import links go
        // through a web page.
        std::string url = button["url"].is_string() ? button["url"].get<std::string>() : "";
        if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0 && url.rfind("tg://", 0) != 0)
          throw FormattingError("Bad Request: inline keyboard button URL '" + url + "' is invalid: Wrong HTTP URL");
      }
    }
  }
}

}  // namespace vpnbot::emulator
