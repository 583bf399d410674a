#pragma once
// Crypto Pay's invoices and webhook updates: pure parsing and the signature check, apart from HTTP and the database
// (unit-tested and fuzzed on their own).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace vpnbot::billing {

// An invoice as Crypto Pay's getInvoices and webhooks describe it (the fields billing reads).
struct CryptoPayInvoice {
  int64_t invoice_id = 0;
  std::string status;         // active, paid, expired
  std::string currency_type;  // crypto, fiat
  std::string fiat;           // with currency_type fiat: RUB
  std::string amount;         // decimal text in fiat (or asset) units
  std::string payload;        // ours: vpnbot-<order id>
  std::string url;            // bot_invoice_url: where the user pays
  std::string paid_asset, paid_amount;
};
// Reads an Invoice object. Throws std::invalid_argument naming what is missing or mistyped.
CryptoPayInvoice parse_cryptopay_invoice(const nlohmann::json& invoice);

// The webhook signature: hex HMAC-SHA-256 of the raw body keyed with SHA-256 of the app token.
std::string cryptopay_signature(const std::string& raw_body, const std::string& token);

struct CryptoPayUpdate {
  int64_t update_id = 0;
  std::string update_type;  // invoice_paid
  CryptoPayInvoice invoice;
  nlohmann::json body;
};
// Checks the crypto-pay-api-signature header against the raw body in constant time, then reads the update.
// Throws std::invalid_argument with the reason ("signature does not match", unreadable body, missing fields).
CryptoPayUpdate verify_cryptopay_update(const std::string& raw_body, const std::string& signature,
                                        const std::string& token);

}  // namespace vpnbot::billing
