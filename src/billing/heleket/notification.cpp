#include "billing/heleket/notification.hpp"

#include <fmt/format.h>

#include "billing/money.hpp"
#include "core/encoding.hpp"
#include "core/json.hpp"

namespace vpnbot::billing {

using nlohmann::json;

namespace {

void encode_string(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '/':
        out += "\\/";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20)
          out += fmt::format("\\u{:04x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  out += '"';
}

// SAX events in, PHP's encoding out. An object's "{" waits for its first member, so an empty one becomes "[]" (an
// empty PHP array), as does the top level when "sign" was its only member.
class PhpEncoder {
 public:
  explicit PhpEncoder(std::string* sign) : sign_(sign) {}

  bool null() { return scalar("null"); }
  bool boolean(bool v) { return scalar(v ? "true" : "false"); }
  bool number_integer(json::number_integer_t v) { return scalar(std::to_string(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(std::to_string(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return scalar(json(v).dump()); }
  bool string(std::string& v) {
    if (taking_sign_) {
      *sign_ = std::move(v);
      taking_sign_ = false;
      return true;
    }
    before_value();
    encode_string(v, out_);
    return true;
  }
  bool binary(json::binary_t&) { return false; }
  bool start_object(std::size_t) {
    if (taking_sign_) return false;
    if (open_.empty()) top_is_object_ = true;
    before_value();
    open_.push_back({true, false});
    return true;
  }
  bool key(std::string& k) {
    if (sign_ && open_.size() == 1 && k == "sign") {
      taking_sign_ = true;
      return true;
    }
    Open& object = open_.back();
    out_ += object.has_members ? ',' : '{';
    object.has_members = true;
    encode_string(k, out_);
    out_ += ':';
    return true;
  }
  bool end_object() {
    out_ += open_.back().has_members ? "}" : "[]";
    open_.pop_back();
    return true;
  }
  bool start_array(std::size_t) {
    if (taking_sign_) return false;
    before_value();
    out_ += '[';
    open_.push_back({false, false});
    return true;
  }
  bool end_array() {
    out_ += ']';
    open_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

  std::string take() { return std::move(out_); }
  bool top_is_object() const { return top_is_object_; }

 private:
  struct Open {
    bool is_object, has_members;
  };
  // A value inside an array follows a comma unless it is the first; inside an object its key wrote the separator.
  void before_value() {
    if (open_.empty() || open_.back().is_object) return;
    if (open_.back().has_members) out_ += ',';
    open_.back().has_members = true;
  }
  bool scalar(const std::string& text) {
    if (taking_sign_) return false;
    before_value();
    out_ += text;
    return true;
  }

  std::string* sign_;
  bool taking_sign_ = false, top_is_object_ = false;
  std::vector<Open> open_;
  std::string out_;
};

std::optional<int64_t> amount_field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string()) return std::nullopt;
  try {
    return parse_rub(it->get<std::string>());
  } catch (const std::invalid_argument&) {
    return std::nullopt;  // crypto amounts have more than two decimals: not used for RUB checks
  }
}

}  // namespace

namespace {

PhpEncoder encode_text(std::string_view json_text, std::string* sign) {
  if (sign) sign->clear();
  PhpEncoder encoder(sign);
  parse_json_sax(json_text, encoder, JsonLimits{}, "sign is not text");
  return encoder;
}

}  // namespace

std::string php_json_encode_text(std::string_view json_text, std::string* sign) {
  return encode_text(json_text, sign).take();
}

std::string php_json_encode(const nlohmann::ordered_json& value) {
  return php_json_encode_text(value.dump());
}

std::string heleket_sign(const std::string& json_text, const std::string& api_key) {
  return md5_hex(to_base64(json_text) + api_key);
}

HeleketWebhook verify_heleket_webhook(const std::string& raw_body, const std::string& api_key) {
  std::string sign;
  PhpEncoder encoded = encode_text(raw_body, &sign);
  if (!encoded.top_is_object()) throw std::invalid_argument("body is not a JSON object");
  std::string signed_text = encoded.take();
  if (sign.empty()) throw std::invalid_argument("no sign field");
  if (!constant_time_equal(sign, heleket_sign(signed_text, api_key)))
    throw std::invalid_argument("sign does not match");
  // Signed by the holder of the API key: only now is a DOM built (still within the limits).
  json body = parse_json(raw_body);
  body.erase("sign");
  HeleketWebhook w;
  for (const char* key : {"uuid", "order_id", "status"})
    if (!body.contains(key) || !body[key].is_string()) throw std::invalid_argument(std::string("no ") + key + " field");
  w.uuid = body["uuid"].get<std::string>();
  w.order_id = body["order_id"].get<std::string>();
  w.status = body["status"].get<std::string>();
  // A signed body may still carry "currency": null; anything but a string reads as no currency (found by fuzz_heleket).
  if (auto currency = body.find("currency"); currency != body.end() && currency->is_string())
    w.currency = currency->get<std::string>();
  w.amount = amount_field(body, "amount");
  w.payment_amount = amount_field(body, "payment_amount");
  w.body = std::move(body);
  return w;
}

}  // namespace vpnbot::billing
