#include "billing/cryptopay/api.hpp"

#include "billing/money.hpp"
#include "core/json.hpp"
#include "http/url.hpp"

namespace vpnbot::billing {

using nlohmann::json;

awaitable<json> CryptoPay::call(std::string method, json params) {
  if (!configured()) throw ProviderError("cryptopay: the API token is not configured", 0, false);
  http::ClientRequest request{
      .method = "POST",
      .url = http::join_url(options_.api_url, "/api/" + method),
      .headers = {{"Crypto-Pay-API-Token", options_.token}, {"Content-Type", "application/json"}},
      .body = params.dump(),
      .timeout = options_.timeout};
  auto response = co_await client_.send(std::move(request));
  json parsed = parse_json_or_discarded(response.body);
  auto field = [&](const char* key) { return parsed.is_object() ? parsed.find(key) : parsed.end(); };
  auto ok = field("ok");
  bool succeeded = ok != parsed.end() && ok->is_boolean() && ok->get<bool>() && field("result") != parsed.end();
  if (response.status != 200 || !succeeded) {
    std::string name = "unreadable answer";
    if (auto error = field("error"); error != parsed.end() && error->is_object()) {
      auto error_name = error->find("name");
      if (error_name != error->end() && error_name->is_string()) name = error_name->get<std::string>();
    }
    // 401: a token being rotated; asking again later must not lose a paid invoice.
    bool retryable =
        response.status == 429 || response.status >= 500 || response.status == 401 || response.status == 200;
    throw ProviderError("cryptopay " + method + ": HTTP " + std::to_string(response.status) + " " + name,
                        response.status, retryable);
  }
  co_return parsed["result"];
}

awaitable<CryptoPayInvoice> CryptoPay::create_invoice(int64_t order_id, int64_t amount_kopecks,
                                                      const std::string& description) {
  json params{{"currency_type", "fiat"},
              {"fiat", "RUB"},
              {"amount", rub_decimal(amount_kopecks)},
              {"description", description.substr(0, 1024)},
              {"payload", external_order_ref(order_id)},
              {"allow_comments", false},
              {"allow_anonymous", false},
              {"expires_in", options_.expires_in_s}};
  if (!options_.accepted_assets.empty()) params["accepted_assets"] = options_.accepted_assets;
  auto result = co_await call("createInvoice", std::move(params));
  try {
    co_return parse_cryptopay_invoice(result);
  } catch (const std::invalid_argument& e) {
    throw ProviderError(std::string("cryptopay createInvoice: ") + e.what(), 200, true);
  }
}

namespace {
std::vector<CryptoPayInvoice> parse_items(const json& result) {
  // API 1.x answers {"items":[...]}; the oldest versions a bare array.
  const json& items = result.is_object() && result.contains("items") ? result["items"] : result;
  if (!items.is_array()) throw ProviderError("cryptopay getInvoices: no items", 200, true);
  std::vector<CryptoPayInvoice> out;
  try {
    for (const auto& item : items) out.push_back(parse_cryptopay_invoice(item));
  } catch (const std::invalid_argument& e) {
    throw ProviderError(std::string("cryptopay getInvoices: ") + e.what(), 200, true);
  }
  return out;
}
}  // namespace

awaitable<std::vector<CryptoPayInvoice>> CryptoPay::get_invoices(const std::vector<int64_t>& ids) {
  std::string list;
  for (int64_t id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
  json params{{"invoice_ids", list}, {"count", 1000}};  // named: g++ 12 cannot take a braced list into co_await
  auto result = co_await call("getInvoices", std::move(params));
  co_return parse_items(result);
}

awaitable<std::vector<CryptoPayInvoice>> CryptoPay::list_invoices(const std::string& status, int offset, int count) {
  json params{{"status", status}, {"offset", offset}, {"count", count}};
  auto result = co_await call("getInvoices", std::move(params));
  co_return parse_items(result);
}

}  // namespace vpnbot::billing
