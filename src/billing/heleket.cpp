#include "billing/heleket.hpp"

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
  w.currency = body.value("currency", "");
  w.amount = amount_field(body, "amount");
  w.payment_amount = amount_field(body, "payment_amount");
  w.body = std::move(body);
  return w;
}

std::optional<int64_t> Heleket::parse_order_ref(const std::string& ref) {
  if (ref.rfind("vpnbot-", 0) != 0 || ref.size() <= 7 || ref.size() > 25) return std::nullopt;
  int64_t id = 0;
  for (char c : ref.substr(7)) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + (c - '0');
  }
  return id;
}

awaitable<json> Heleket::call(std::string path, json body) {
  if (!configured()) throw ProviderError("heleket: merchant and API key are not configured", 0, false);
  http::ClientRequest request;
  request.method = "POST";
  std::string base = options_.api_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  request.url = base + path;
  // The signature covers the exact bytes sent: sign the dumped text, then send that same text.
  request.body = body.dump();
  request.headers.push_back({"merchant", options_.merchant});
  request.headers.push_back({"sign", heleket_sign(request.body, options_.api_key)});
  request.headers.push_back({"Content-Type", "application/json"});
  request.timeout = options_.timeout;
  auto response = co_await client_.send(std::move(request));
  json parsed = json::parse(response.body, nullptr, false);
  if (response.status != 200 || !parsed.is_object() || parsed.value("state", -1) != 0) {
    std::string message = parsed.is_object() ? parsed.value("message", "") : response.body.substr(0, 200);
    bool retryable = response.status == 429 || response.status >= 500 || response.status == 401;
    throw ProviderError("heleket " + path + ": HTTP " + std::to_string(response.status) + " " + message,
                        response.status, retryable);
  }
  co_return parsed["result"];
}

namespace {
HeleketInvoice parse_invoice(const json& r) {
  HeleketInvoice inv;
  inv.uuid = r.at("uuid").get<std::string>();
  inv.order_id = r.value("order_id", "");
  inv.status = r.value("status", r.value("payment_status", ""));
  inv.url = r.value("url", "");
  inv.currency = r.value("currency", "");
  inv.amount = parse_rub(r.at("amount").get<std::string>());
  return inv;
}
}  // namespace

awaitable<HeleketInvoice> Heleket::create_invoice(int64_t order_id, int64_t amount_kopecks) {
  json body{{"amount", rub_decimal(amount_kopecks)}, {"currency", "RUB"},
            {"order_id", order_ref(order_id)},       {"url_callback", options_.callback_url},
            {"url_return", options_.return_url},     {"lifetime", options_.lifetime_s}};
  auto r = co_await call("/v1/payment", std::move(body));
  co_return parse_invoice(r);
}

awaitable<HeleketInvoice> Heleket::invoice_info(const std::string& uuid) {
  json body{{"uuid", uuid}};
  auto r = co_await call("/v1/payment/info", std::move(body));
  co_return parse_invoice(r);
}

}  // namespace vpnbot::billing
