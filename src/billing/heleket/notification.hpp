#pragma once
// Heleket's webhook bodies: pure parsing and the signature check, apart from HTTP and the database (unit-tested and
// fuzzed on their own).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace vpnbot::billing {

// PHP's json_encode($data, JSON_UNESCAPED_UNICODE) of a decoded body: Heleket signs exactly that, so "/" becomes "\/",
// non-ASCII stays as UTF-8, keys keep their order, and an empty object (a PHP array after json_decode) is "[]".
// Made in one pass over the JSON text, without a DOM or recursion, within the untrusted-input limits (core/json.hpp).
// With `sign` given, the top-level "sign" member is left out and its text stored there (empty if absent). Throws
// BadJson for text that is not JSON or crosses the limits, std::invalid_argument for a "sign" that is not text.
std::string php_json_encode_text(std::string_view json_text, std::string* sign = nullptr);
// The same for a value built in code (the emulator's bodies).
std::string php_json_encode(const nlohmann::ordered_json& value);
// md5(base64(json) + api_key), hex.
std::string heleket_sign(const std::string& json_text, const std::string& api_key);

struct HeleketWebhook {
  nlohmann::json body;  // without "sign"
  std::string uuid, order_id, status, currency;
  std::optional<int64_t> amount;  // kopecks, from "amount" (RUB invoices)
  std::optional<int64_t> payment_amount;
};

// Checks the webhook's "sign" against the rest of the raw body, exactly as Heleket computes it, in constant time,
// before any DOM is built. Throws std::invalid_argument with the reason (unreadable body, no sign, wrong sign,
// missing fields).
HeleketWebhook verify_heleket_webhook(const std::string& raw_body, const std::string& api_key);

}  // namespace vpnbot::billing
