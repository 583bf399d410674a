#include "billing/heleket/api.hpp"

#include <fmt/format.h>

#include "billing/money.hpp"
#include "core/encoding.hpp"
#include "core/json.hpp"
#include "http/url.hpp"

namespace vpnbot::billing {

using nlohmann::json;
using nlohmann::ordered_json;

awaitable<json> Heleket::call(std::string path, json body) {
  if (!configured()) throw ProviderError("heleket: merchant and API key are not configured", 0, false);
  // The signature covers the exact bytes sent: sign the dumped text, then send that same text.
  std::string text = body.dump();
  std::string sign = heleket_sign(text, options_.api_key);
  http::ClientRequest request{
      .method = "POST",
      .url = http::join_url(options_.api_url, path),
      .headers = {{"merchant", options_.merchant}, {"sign", std::move(sign)}, {"Content-Type", "application/json"}},
      .body = std::move(text),
      .timeout = options_.timeout};
  auto response = co_await client_.send(std::move(request));
  json parsed = parse_json_or_discarded(response.body);
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
