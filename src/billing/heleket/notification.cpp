#include "billing/heleket/notification.hpp"

#include <fmt/format.h>

#include "billing/money.hpp"
#include "core/encoding.hpp"

namespace vpnbot::billing {

using nlohmann::json;
using nlohmann::ordered_json;

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

void encode(const ordered_json& v, std::string& out) {
  switch (v.type()) {
    case ordered_json::value_t::object: {
      if (v.empty()) {
        out += "[]";  // json_decode(..., true) made it an empty PHP array
        return;
      }
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        encode_string(it.key(), out);
        out += ':';
        encode(it.value(), out);
      }
      out += '}';
      return;
    }
    case ordered_json::value_t::array: {
      out += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        encode(v[i], out);
      }
      out += ']';
      return;
    }
    case ordered_json::value_t::string:
      encode_string(v.get<std::string>(), out);
      return;
    default:
      out += v.dump();
      return;  // numbers, booleans, null print the same in PHP
  }
}

std::optional<int64_t> amount_field(const ordered_json& body, const char* key) {
  if (!body.contains(key) || !body[key].is_string()) return std::nullopt;
  try {
    return parse_rub(body[key].get<std::string>());
  } catch (const std::invalid_argument&) {
    return std::nullopt;  // crypto amounts have more than two decimals: not used for RUB checks
  }
}

}  // namespace

std::string php_json_encode(const ordered_json& value) {
  std::string out;
  encode(value, out);
  return out;
}

std::string heleket_sign(const std::string& json_text, const std::string& api_key) {
  return md5_hex(to_base64(json_text) + api_key);
}

HeleketWebhook verify_heleket_webhook(const std::string& raw_body, const std::string& api_key) {
  ordered_json body = ordered_json::parse(raw_body, nullptr, false);
  if (!body.is_object()) throw std::invalid_argument("body is not a JSON object");
  if (!body.contains("sign") || !body["sign"].is_string()) throw std::invalid_argument("no sign field");
  std::string sign = body["sign"].get<std::string>();
  body.erase("sign");
  std::string expected = heleket_sign(php_json_encode(body), api_key);
  if (!constant_time_equal(sign, expected)) throw std::invalid_argument("sign does not match");
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
