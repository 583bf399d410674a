#include "billing/yookassa/api.hpp"

#include "billing/money.hpp"
#include "core/encoding.hpp"
#include "core/json.hpp"
#include "http/url.hpp"

namespace vpnbot::billing {

using nlohmann::json;

YooKassaPayment YooKassa::parse_payment(const json& j) {
  YooKassaPayment p;
  p.id = j.at("id").get<std::string>();
  p.status = j.at("status").get<std::string>();
  p.paid = j.value("paid", false);
  p.amount = parse_rub(j.at("amount").at("value").get<std::string>());
  p.currency = j.at("amount").at("currency").get<std::string>();
  if (j.contains("metadata") && j["metadata"].is_object() && j["metadata"].contains("order_id")) {
    const auto& id = j["metadata"]["order_id"];
    std::string text = id.is_string() ? id.get<std::string>() : id.dump();
    p.order_id = std::stoll(text);
  }
  if (j.contains("confirmation") && j["confirmation"].is_object())
    p.confirmation_url = j["confirmation"].value("confirmation_url", "");
  if (auto method = j.find("payment_method"); method != j.end() && method->is_object()) {
    p.method_id = method->value("id", "");
    p.method_title = method->value("title", "");
    p.method_saved = method->value("saved", false);
  }
  if (auto details = j.find("cancellation_details"); details != j.end() && details->is_object())
    p.cancellation_reason = details->value("reason", "");
  return p;
}

awaitable<json> YooKassa::call(std::string method, std::string path, std::string body, std::string idempotence_key) {
  if (!configured()) throw ProviderError("yookassa: shop id and secret key are not configured", 0, false);
  http::ClientRequest request{.method = method, .url = http::join_url(options_.api_url, path)};
  request.headers.push_back({"Authorization", "Basic " + to_base64(options_.shop_id + ":" + options_.secret_key)});
  if (!idempotence_key.empty()) request.headers.push_back({"Idempotence-Key", idempotence_key});
  if (!body.empty()) request.headers.push_back({"Content-Type", "application/json"});
  request.body = std::move(body);
  request.timeout = options_.timeout;
  auto response = co_await client_.send(std::move(request));
  json parsed = parse_json_or_discarded(response.body);
  if (response.status != 200) {
    std::string description = parsed.is_object() ? parsed.value("description", "") : response.body.substr(0, 200);
    bool retryable = response.status == 429 || response.status >= 500 || response.status == 401;
    throw ProviderError(
        "yookassa " + method + " " + path + ": HTTP " + std::to_string(response.status) + " " + description,
        response.status, retryable);
  }
  if (!parsed.is_object()) throw ProviderError("yookassa " + path + ": response is not a JSON object", 200, true);
  co_return parsed;
}

json YooKassa::payment_body(int64_t order_id, int64_t amount_kopecks, const std::string& description) const {
  json amount{{"value", rub_decimal(amount_kopecks)}, {"currency", "RUB"}};
  json body{{"amount", amount},
            {"capture", true},
            {"description", description.substr(0, 128)},
            {"metadata", {{"order_id", std::to_string(order_id)}}}};
  if (options_.vat_code > 0) {
    body["receipt"] = {{"customer", {{"email", options_.receipt_email}}},
                       {"items",
                        {{{"description", description.substr(0, 128)},
                          {"quantity", "1.00"},
                          {"amount", amount},
                          {"vat_code", options_.vat_code},
                          {"payment_mode", "full_payment"},
                          {"payment_subject", "service"}}}}};
  }
  return body;
}

awaitable<YooKassaPayment> YooKassa::create_payment(int64_t order_id, int64_t amount_kopecks,
                                                    const std::string& description, bool save_method) {
  json body = payment_body(order_id, amount_kopecks, description);
  body["confirmation"] = {{"type", "redirect"}, {"return_url", options_.return_url}};
  if (save_method) body["save_payment_method"] = true;
  std::string text = body.dump();
  auto j = co_await call("POST", "/v3/payments", std::move(text), "order-" + std::to_string(order_id));
  co_return parse_payment(j);
}

awaitable<YooKassaPayment> YooKassa::charge_saved_method(int64_t order_id, int64_t amount_kopecks,
                                                         const std::string& description, const std::string& method_id) {
  json body = payment_body(order_id, amount_kopecks, description);
  body["payment_method_id"] = method_id;
  std::string text = body.dump();
  auto j = co_await call("POST", "/v3/payments", std::move(text), "order-" + std::to_string(order_id));
  co_return parse_payment(j);
}

awaitable<YooKassaPayment> YooKassa::get_payment(const std::string& payment_id) {
  auto j = co_await call("GET", "/v3/payments/" + payment_id, "", "");
  co_return parse_payment(j);
}

awaitable<YooKassaRefund> YooKassa::get_refund(const std::string& refund_id) {
  auto j = co_await call("GET", "/v3/refunds/" + refund_id, "", "");
  YooKassaRefund r;
  r.id = j.at("id").get<std::string>();
  r.payment_id = j.at("payment_id").get<std::string>();
  r.status = j.at("status").get<std::string>();
  r.amount = parse_rub(j.at("amount").at("value").get<std::string>());
  r.currency = j.at("amount").at("currency").get<std::string>();
  co_return r;
}

}  // namespace vpnbot::billing
