#include "billing/cryptopay/notification.hpp"

#include <stdexcept>

#include "core/encoding.hpp"
#include "core/json.hpp"

namespace vpnbot::billing {

using nlohmann::json;

namespace {

std::string text_of(const json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) throw std::invalid_argument(std::string("invoice has no ") + key);
    return "";
  }
  if (!it->is_string()) throw std::invalid_argument(std::string("invoice ") + key + " is not text");
  return it->get<std::string>();
}

}  // namespace

CryptoPayInvoice parse_cryptopay_invoice(const json& j) {
  if (!j.is_object()) throw std::invalid_argument("invoice is not an object");
  CryptoPayInvoice inv;
  auto id = j.find("invoice_id");
  if (id == j.end() || !id->is_number_integer() || id->get<int64_t>() <= 0)
    throw std::invalid_argument("invoice has no invoice_id");
  inv.invoice_id = id->get<int64_t>();
  inv.status = text_of(j, "status", true);
  inv.currency_type = text_of(j, "currency_type", false);
  inv.fiat = text_of(j, "fiat", false);
  inv.amount = text_of(j, "amount", true);
  inv.payload = text_of(j, "payload", false);
  inv.url = text_of(j, "bot_invoice_url", false);
  if (inv.url.empty()) inv.url = text_of(j, "pay_url", false);  // before API 1.2
  inv.paid_asset = text_of(j, "paid_asset", false);
  inv.paid_amount = text_of(j, "paid_amount", false);
  return inv;
}

std::string cryptopay_signature(const std::string& raw_body, const std::string& token) {
  return hmac_sha256_hex(sha256(token), raw_body);
}

CryptoPayUpdate verify_cryptopay_update(const std::string& raw_body, const std::string& signature,
                                        const std::string& token) {
  if (signature.empty()) throw std::invalid_argument("no crypto-pay-api-signature header");
  if (!constant_time_equal(signature, cryptopay_signature(raw_body, token)))
    throw std::invalid_argument("signature does not match");
  json body = parse_json(raw_body);
  if (!body.is_object()) throw std::invalid_argument("body is not a JSON object");
  CryptoPayUpdate update;
  auto id = body.find("update_id");
  if (id == body.end() || !id->is_number_integer()) throw std::invalid_argument("no update_id");
  update.update_id = id->get<int64_t>();
  auto type = body.find("update_type");
  if (type == body.end() || !type->is_string()) throw std::invalid_argument("no update_type");
  update.update_type = type->get<std::string>();
  auto payload = body.find("payload");
  if (payload == body.end()) throw std::invalid_argument("no payload");
  update.invoice = parse_cryptopay_invoice(*payload);
  update.body = std::move(body);
  return update;
}

}  // namespace vpnbot::billing
