#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "billing/cryptopay/notification.hpp"
#include "billing/provider.hpp"
#include "http/client.hpp"

namespace vpnbot::billing {

struct CryptoPayOptions {
  std::string api_url = "https://pay.crypt.bot";  // testnet: https://testnet-pay.crypt.bot
  std::string token;                              // the app's API token from @CryptoBot (/pay)
  std::string accepted_assets;                    // e.g. "USDT,TON,BTC"; empty: every asset the app accepts
  int expires_in_s = 3600;
  Millis timeout{15000};
};

// The Crypto Pay API (https://help.crypt.bot/crypto-pay-api): token in the Crypto-Pay-API-Token header, JSON
// parameters, answers {"ok":true,"result":...} or {"ok":false,"error":{"code":...,"name":...}}.
class CryptoPay {
 public:
  CryptoPay(http::Client& client, CryptoPayOptions options) : client_(client), options_(std::move(options)) {}
  bool configured() const { return !options_.token.empty(); }
  // createInvoice for an amount in RUB (currency_type fiat) with the order reference as payload.
  awaitable<CryptoPayInvoice> create_invoice(int64_t order_id, int64_t amount_kopecks, const std::string& description);
  awaitable<std::vector<CryptoPayInvoice>> get_invoices(const std::vector<int64_t>& ids);
  // One page of invoices in a status (newest first as the API lists them), for finding an order's invoice.
  awaitable<std::vector<CryptoPayInvoice>> list_invoices(const std::string& status, int offset, int count);

 private:
  awaitable<nlohmann::json> call(std::string method, nlohmann::json params);
  http::Client& client_;
  CryptoPayOptions options_;
};

}  // namespace vpnbot::billing
