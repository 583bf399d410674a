#pragma once
// JSON from outside (webhook bodies, updates, API answers, stored bodies): parsed in time and stack bounded by the
// text's size whatever its shape. nlohmann's parser keeps its nesting on the heap, not the stack; LimitedSax adds a
// depth and a per-object member cap that stop the parse the moment they are crossed, so no DOM ever holds a deeper or
// wider value (and the recursive parts of nlohmann, dump and copy, only ever see shallow values).
#include <cstddef>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vpnbot {

struct JsonLimits {
  // Telegram's deepest update (a reply to a message with a pinned message, each with entities) nests about 10 deep.
  std::size_t max_depth = 48;
  // Members of one object: the widest real body (a Telegram chat, a YooKassa payment) has well under 100.
  std::size_t max_members = 1000;
};

// Limits for JSON read back from the database (written by us, possibly from a body kept as malformed): the depth cap
// still holds, the width only bounded by the text.
inline constexpr JsonLimits kStoredJsonLimits{48, static_cast<std::size_t>(-1)};

// A body that is not JSON or crosses the limits; what() says which.
struct BadJson : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Parses untrusted text; throws BadJson.
nlohmann::json parse_json(std::string_view text, const JsonLimits& limits = {});
// Same, but a discarded value (is_discarded()) instead of a throw, for callers that only check the shape.
nlohmann::json parse_json_or_discarded(std::string_view text, const JsonLimits& limits = {});

// A SAX handler in front of another one (any of nlohmann's SAX interface): forwards every event and refuses the
// first that crosses the limits. `problem()` says why a parse stopped.
template <class Inner>
class LimitedSax {
 public:
  using number_integer_t = nlohmann::json::number_integer_t;
  using number_unsigned_t = nlohmann::json::number_unsigned_t;
  using number_float_t = nlohmann::json::number_float_t;
  using string_t = nlohmann::json::string_t;
  using binary_t = nlohmann::json::binary_t;

  LimitedSax(Inner& inner, const JsonLimits& limits) : inner_(inner), limits_(limits) {}

  bool null() { return inner_.null(); }
  bool boolean(bool v) { return inner_.boolean(v); }
  bool number_integer(number_integer_t v) { return inner_.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) { return inner_.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) { return inner_.number_float(v, s); }
  bool string(string_t& v) { return inner_.string(v); }
  bool binary(binary_t& v) { return inner_.binary(v); }
  bool start_object(std::size_t n) { return enter() && inner_.start_object(n); }
  bool key(string_t& k) {
    if (++members_.back() > limits_.max_members)
      return refuse("an object has more than " + std::to_string(limits_.max_members) + " members");
    return inner_.key(k);
  }
  bool end_object() {
    members_.pop_back();
    return inner_.end_object();
  }
  bool start_array(std::size_t n) { return enter() && inner_.start_array(n); }
  bool end_array() {
    members_.pop_back();
    return inner_.end_array();
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) {
    return refuse("not JSON (at byte " + std::to_string(position) + ")");
  }

  const std::string& problem() const { return problem_; }

 private:
  bool enter() {
    if (members_.size() >= limits_.max_depth)
      return refuse("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    members_.push_back(0);
    return true;
  }
  bool refuse(std::string why) {
    if (problem_.empty()) problem_ = std::move(why);
    return false;
  }

  Inner& inner_;
  const JsonLimits& limits_;
  std::vector<std::size_t> members_;  // one entry per open container: the members counted so far
  std::string problem_;
};

// Runs `sax` (wrapped in LimitedSax) over the text; throws BadJson with the reason when the parse stops, including
// when the inner handler refuses an event (then `inner_problem` is the reason).
template <class Inner>
void parse_json_sax(std::string_view text, Inner& sax, const JsonLimits& limits,
                    const char* inner_problem = "refused") {
  LimitedSax<Inner> limited(sax, limits);
  if (!nlohmann::json::sax_parse(text.begin(), text.end(), &limited))
    throw BadJson(limited.problem().empty() ? inner_problem : limited.problem());
}

}  // namespace vpnbot
