#include "emulator/payments_emulator.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <regex>

#include "core/encoding.hpp"
#include "core/log.hpp"
#include "emulator/common.hpp"

namespace vpnbot::emulator {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

std::string iso_now() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.000Z", fmt::gmtime(std::time(nullptr)));
}

http::Response yookassa_error(http::bhttp::status status, const std::string& code, const std::string& description) {
  return http::json_response(status, {{"type", "error"},
                                      {"id", "emulator-" + std::to_string(now_unix())},
                                      {"code", code},
                                      {"description", description}});
}

// 54-FZ receipt data as YooKassa checks it: a customer contact, items with description, quantity, amount in the
// payment's currency and a VAT code, and items adding up to the payment. Empty when valid.
std::string receipt_error(const json& receipt, const json& amount) {
  if (!receipt.is_object()) return "receipt must be an object";
  const json customer = receipt.value("customer", json::object());
  if (!customer.is_object() || (customer.value("email", "").empty() && customer.value("phone", "").empty()))
    return "receipt.customer needs email or phone";
  const json items = receipt.value("items", json());
  if (!items.is_array() || items.empty() || items.size() > 100) return "receipt.items are required (1-100)";
  int64_t total = 0;
  for (const auto& item : items) {
    if (!item.is_object()) return "receipt.items[] must be objects";
    std::string description = item.value("description", "");
    if (description.empty() || description.size() > 128 * 4) return "receipt.items[].description is required";
    const json& q = item.value("quantity", json());
    double quantity = q.is_string() ? std::atof(q.get<std::string>().c_str()) : q.is_number() ? q.get<double>() : 0;
    if (quantity <= 0) return "receipt.items[].quantity must be positive";
    const json& a = item.value("amount", json());
    if (!a.is_object() || !a.contains("value") || !a["value"].is_string() ||
        a.value("currency", "") != amount.value("currency", ""))
      return "receipt.items[].amount is invalid";
    int vat = item.value("vat_code", 0);
    if (vat < 1 || vat > 12) return "receipt.items[].vat_code must be 1-12";
    total += static_cast<int64_t>(std::llround(kopecks(a["value"].get<std::string>()) * quantity));
  }
  if (total != kopecks(amount.value("value", "0"))) return "receipt items do not add up to the amount";
  return "";
}

http::Response heleket_error(http::bhttp::status status, const std::string& message) {
  return http::json_response(status, {{"state", 1}, {"message", message}});
}

std::string html_page(const std::string& title, const std::string& body) {
  return "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
         "content=\"width=device-width,initial-scale=1\"><title>" +
         title +
         "</title><style>body{font-family:system-ui,sans-serif;background:#f2f4f7;display:flex;justify-content:center;"
         "padding-top:10vh}.card{background:#fff;border-radius:14px;padding:28px 32px;box-shadow:0 4px 24px "
         "#0002;min-width:300px}h1{font-size:20px}button{font-size:16px;padding:10px 22px;border:0;border-radius:8px;"
         "margin-right:10px;cursor:pointer}.pay{background:#2a7de1;color:#fff}.cancel{background:#e5e7eb}"
         ".muted{color:#667}</style></head><body><div class=\"card\">" +
         body + "</div></body></html>";
}

}  // namespace

PaymentsEmulator::PaymentsEmulator(asio::any_io_executor ex, PaymentsEmulatorOptions options)
    : HttpEmulator(ex), options_(std::move(options)), deliveries_arrived_(ex) {
  register_routes();
  server_ = std::make_unique<http::Server>(ex_, http::ServerOptions{options_.listen}, router_);
  client_ = std::make_unique<http::Client>(ex_, http::ClientOptions{"", Millis(10000), Millis(5000), 64});
}

PaymentsEmulator::~PaymentsEmulator() = default;

void PaymentsEmulator::start() {
  server_->start();
  log::info("emulator", "payments emulator listening", {{"url", base_url()}});
}

awaitable<void> PaymentsEmulator::shutdown() {
  stopping_ = true;
  deliveries_arrived_.notify();
  co_await server_->shutdown(Millis(1000));
  for (int i = 0; i < 100 && deliverers_ > 0; ++i) co_await sleep_for(Millis(20));
}

void PaymentsEmulator::register_routes() {
  using http::bhttp::verb;
  auto yk = [this](http::Request& r) { return losing_answers(yookassa_api(r)); };
  router_.add(verb::post, "/v3/payments", yk);
  router_.add_prefix(verb::get, "/v3/payments/", yk);
  router_.add(verb::post, "/v3/refunds", yk);
  router_.add_prefix(verb::get, "/v3/refunds/", yk);
  auto hk = [this](http::Request& r) { return losing_answers(heleket_api(r)); };
  router_.add(verb::post, "/v1/payment", hk);
  router_.add(verb::post, "/v1/payment/info", hk);
  auto cp = [this](http::Request& r) { return losing_answers(cryptopay_api(r)); };
  router_.add_prefix(verb::post, "/api/", cp);
  router_.add_prefix(verb::get, "/api/", cp);
  auto page = [this](http::Request& r) { return checkout(r); };
  router_.add_prefix(verb::get, "/checkout/", page);
  router_.add_prefix(verb::post, "/checkout/", page);
  auto client = [this](http::Request& r) { return client_api(r); };
  router_.add_prefix(verb::get, "/client/", client);
  router_.add_prefix(verb::post, "/client/", client);
}

// The providers' APIs are at times slow and at times fail (5xx): tests set both through /client/config.
awaitable<std::optional<http::Response>> PaymentsEmulator::api_weather(const std::string& provider) {
  stats_["api_calls"] = stats_["api_calls"].get<int>() + 1;
  if (api_latency_.count() > 0) co_await sleep_for(api_latency_);
  if (api_failures_left_ <= 0) co_return std::nullopt;
  --api_failures_left_;
  stats_["api_failures_injected"] = stats_["api_failures_injected"].get<int>() + 1;
  if (provider == "yookassa")
    co_return yookassa_error(http::bhttp::status::internal_server_error, "internal_server_error",
                             "Internal server error. Repeat the request later with the same Idempotence-Key");
  if (provider == "cryptopay")
    co_return http::json_response(http::bhttp::status::internal_server_error,
                                  {{"ok", false}, {"error", {{"code", 500}, {"name", "INTERNAL_ERROR"}}}});
  co_return heleket_error(http::bhttp::status::internal_server_error, "Server error");
}

// A call that was carried out but whose answer never reached the caller (a timeout at a proxy): what makes
// creating a payment twice possible unless the client is idempotent.
awaitable<http::Response> PaymentsEmulator::losing_answers(awaitable<http::Response> call) {
  auto response = co_await std::move(call);
  if (lose_answers_left_ <= 0 || response.result() != http::bhttp::status::ok) co_return response;
  --lose_answers_left_;
  stats_["api_answers_lost"] = stats_["api_answers_lost"].get<int>() + 1;
  co_return http::make_response(http::bhttp::status::gateway_timeout, "upstream timed out");
}

awaitable<http::Response> PaymentsEmulator::yookassa_api(http::Request& request) {
  auto failure = co_await api_weather("yookassa");  // named first: g++ 12 miscompiles co_await in a condition
  if (failure) co_return std::move(*failure);
  std::string expected = "Basic " + to_base64(options_.yookassa_shop_id + ":" + options_.yookassa_secret_key);
  if (request.header("Authorization") != expected) {
    stats_["auth_failures"] = stats_["auth_failures"].get<int>() + 1;
    co_return yookassa_error(http::bhttp::status::unauthorized, "invalid_credentials",
                             "Authentication by given credentials failed");
  }
  std::string path(request.path());
  bool post = request.message.method() == http::bhttp::verb::post;
  if (!post) {
    bool refund = path.rfind("/v3/refunds/", 0) == 0;
    std::string id = path.substr(refund ? 12 : 13);
    if (refund) {
      auto it = refunds_.find(id);
      if (it == refunds_.end())
        co_return yookassa_error(http::bhttp::status::not_found, "not_found", "Refund not found");
      co_return http::json_response(http::bhttp::status::ok, it->second);
    }
    auto it = payments_.find(id);
    if (it == payments_.end() || it->second.provider != "yookassa")
      co_return yookassa_error(http::bhttp::status::not_found, "not_found", "Payment not found");
    co_return http::json_response(http::bhttp::status::ok, it->second.object);
  }
  std::string key = request.header("Idempotence-Key");
  if (key.empty() || key.size() > 64)
    co_return yookassa_error(http::bhttp::status::bad_request, "invalid_request",
                             "Idempotence-Key header is missing or too long");
  json body = json::parse(request.message.body(), nullptr, false);
  if (!body.is_object()) co_return yookassa_error(http::bhttp::status::bad_request, "invalid_request", "Invalid JSON");
  if (auto seen = idempotence_.find(path + "|" + key); seen != idempotence_.end()) {
    if (path == "/v3/refunds") co_return http::json_response(http::bhttp::status::ok, refunds_.at(seen->second));
    co_return http::json_response(http::bhttp::status::ok, payments_.at(seen->second).object);
  }
  static const std::regex amount_re(R"(^\d{1,9}(\.\d{1,2})?$)");
  auto amount_ok = [&](const json& a) {
    return a.is_object() && a.contains("value") && a["value"].is_string() &&
           std::regex_match(a["value"].get<std::string>(), amount_re) && a.value("currency", "") == "RUB";
  };
  if (!body.contains("amount") || !amount_ok(body["amount"]))
    co_return yookassa_error(http::bhttp::status::bad_request, "invalid_request", "Invalid amount");
  std::string id =
      fmt::format("{:08x}-000f-5000-9000-{:012x}", static_cast<uint32_t>(random_()), random_() & 0xffffffffffffULL);
  if (path == "/v3/refunds") {
    std::string payment_id = body.value("payment_id", "");
    auto it = payments_.find(payment_id);
    if (it == payments_.end() || it->second.object.value("status", "") != "succeeded")
      co_return yookassa_error(http::bhttp::status::bad_request, "invalid_request", "Payment is not refundable");
    json refund{{"id", id},
                {"payment_id", payment_id},
                {"status", "succeeded"},
                {"amount", body["amount"]},
                {"created_at", iso_now()}};
    refunds_[id] = refund;
    idempotence_[path + "|" + key] = id;
    it->second.object["refunded_amount"] = body["amount"];
    queue_yookassa_event("refund.succeeded", refund, 1);
    co_return http::json_response(http::bhttp::status::ok, refund);
  }
  if (body.contains("receipt")) {
    std::string error = receipt_error(body["receipt"], body["amount"]);
    if (!error.empty()) co_return yookassa_error(http::bhttp::status::bad_request, "invalid_request", error);
  } else if (receipts_required_) {
    co_return yookassa_error(http::bhttp::status::bad_request, "invalid_request", "Receipt is missing or illegal");
  }
  // An autopayment: a saved method charged without the user, final at once.
  std::string method_id = body.value("payment_method_id", "");
  auto saved = saved_methods_.find(method_id);
  if (!method_id.empty() && saved == saved_methods_.end())
    co_return yookassa_error(http::bhttp::status::bad_request, "invalid_request",
                             "Payment method with this payment_method_id is not saved or not found");
  if (method_id.empty() && (!body.contains("confirmation") || body["confirmation"].value("type", "") != "redirect"))
    co_return yookassa_error(http::bhttp::status::bad_request, "invalid_request", "confirmation.type must be redirect");
  const json& save = body.value("save_payment_method", json(false));
  Payment p;
  p.provider = "yookassa";
  p.id = id;
  p.sequence = ++sequence_;
  p.save_method = save == true || save == "true";
  p.receipt = body.value("receipt", json());
  json metadata = body.value("metadata", json::object());
  if (metadata.contains("order_id"))
    p.order_id =
        metadata["order_id"].is_string() ? metadata["order_id"].get<std::string>() : metadata["order_id"].dump();
  p.object = {{"id", id},
              {"status", "pending"},
              {"paid", false},
              {"amount", body["amount"]},
              {"description", body.value("description", "")},
              {"recipient", {{"account_id", options_.yookassa_shop_id}, {"gateway_id", "100700"}}},
              {"created_at", iso_now()},
              {"test", true},
              {"refundable", false},
              {"metadata", metadata}};
  if (!p.receipt.is_null()) p.object["receipt_registration"] = "succeeded";
  if (method_id.empty()) {
    p.object["confirmation"] = {{"type", "redirect"},
                                {"return_url", body["confirmation"].value("return_url", "")},
                                {"confirmation_url", base_url() + "/checkout/yookassa/" + id}};
    payments_[id] = p;
  } else {
    p.charged_method = method_id;
    SavedCard& card = saved->second;
    ++card.charges;
    p.decline_reason = card.decline_reason;
    if (!card.declines.empty()) {
      p.decline_reason = card.declines.front();
      card.declines.pop_front();
    }
    payments_[id] = p;
    settle("yookassa", id, p.decline_reason.empty() ? "succeeded" : "canceled", 1, std::nullopt);
  }
  idempotence_[path + "|" + key] = id;
  co_return http::json_response(http::bhttp::status::ok, payments_.at(id).object);
}

json PaymentsEmulator::payment_method_of(Payment& p) {
  // The card the user paid with: saved for autopayments when the payment asked for it and it succeeded.
  std::string method_id = p.charged_method;
  bool saved = !method_id.empty();
  std::string status = p.object.value("status", "");
  if (method_id.empty()) {
    method_id =
        fmt::format("{:08x}-000f-5000-a000-{:012x}", static_cast<uint32_t>(random_()), random_() & 0xffffffffffffULL);
    if (p.save_method && status == "succeeded") {
      saved_methods_[method_id] = SavedCard{"Bank card *4444", "", std::exchange(next_card_declines_, {}), 0};
      saved = true;
      p.charged_method = method_id;  // the method this payment is now tied to
    }
  }
  return {{"type", "bank_card"},
          {"id", method_id},
          {"saved", saved},
          {"status", saved ? "active" : "inactive"},
          {"title", "Bank card *4444"},
          {"card",
           {{"first6", "555555"},
            {"last4", "4444"},
            {"expiry_month", "12"},
            {"expiry_year", "2030"},
            {"card_type", "MasterCard"},
            {"issuer_country", "RU"}}}};
}

awaitable<http::Response> PaymentsEmulator::heleket_api(http::Request& request) {
  auto failure = co_await api_weather("heleket");  // named first: g++ 12 miscompiles co_await in a condition
  if (failure) co_return std::move(*failure);
  const std::string& raw = request.message.body();
  if (request.header("merchant") != options_.heleket_merchant ||
      !constant_time_equal(request.header("sign"), heleket_sign(raw, options_.heleket_api_key))) {
    stats_["auth_failures"] = stats_["auth_failures"].get<int>() + 1;
    co_return heleket_error(http::bhttp::status::unauthorized, "Invalid Sign");
  }
  json body = json::parse(raw, nullptr, false);
  if (!body.is_object()) co_return heleket_error(http::bhttp::status::unprocessable_entity, "Invalid JSON");
  std::string path(request.path());
  if (path == "/v1/payment/info") {
    std::string uuid = body.value("uuid", "");
    if (uuid.empty())
      if (auto it = heleket_by_order_.find(body.value("order_id", "")); it != heleket_by_order_.end())
        uuid = it->second;
    auto it = payments_.find(uuid);
    if (it == payments_.end()) co_return heleket_error(http::bhttp::status::not_found, "Payment not found");
    co_return http::json_response(http::bhttp::status::ok, {{"state", 0}, {"result", it->second.object}});
  }
  static const std::regex order_re(R"(^[A-Za-z0-9_-]{1,128}$)");
  static const std::regex amount_re(R"(^\d{1,9}(\.\d{1,8})?$)");
  std::string order_id = body.value("order_id", "");
  std::string amount = body.contains("amount") && body["amount"].is_string() ? body["amount"].get<std::string>() : "";
  if (!std::regex_match(order_id, order_re) || !std::regex_match(amount, amount_re) ||
      body.value("currency", "").empty())
    co_return heleket_error(http::bhttp::status::unprocessable_entity, "Validation error: amount, currency, order_id");
  // Like Heleket: an order_id that already has a live invoice gets that invoice back.
  if (auto it = heleket_by_order_.find(order_id); it != heleket_by_order_.end()) {
    const auto& existing = payments_.at(it->second);
    if (!existing.object.value("is_final", false))
      co_return http::json_response(http::bhttp::status::ok, {{"state", 0}, {"result", existing.object}});
  }
  std::string uuid =
      fmt::format("{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", static_cast<uint32_t>(random_()), random_() & 0xffff,
                  random_() & 0xfff, random_() & 0xfff, random_() & 0xffffffffffffULL);
  Payment p;
  p.provider = "heleket";
  p.id = uuid;
  p.order_id = order_id;
  p.callback_url = body.value("url_callback", "");
  p.sequence = ++sequence_;
  std::string normalized = rub_text(kopecks(amount.substr(0, amount.find('.') + 3)));
  p.object = {{"uuid", uuid},
              {"order_id", order_id},
              {"amount", normalized},
              {"payment_amount", nullptr},
              {"payer_amount", nullptr},
              {"discount_percent", nullptr},
              {"discount", "0.00000000"},
              {"payer_currency", nullptr},
              {"currency", body["currency"]},
              {"merchant_amount", nullptr},
              {"network", nullptr},
              {"address", nullptr},
              {"from", nullptr},
              {"txid", nullptr},
              {"payment_status", "check"},
              {"url", base_url() + "/checkout/heleket/" + uuid},
              {"expired_at", now_unix() + body.value("lifetime", 3600)},
              {"status", "check"},
              {"is_final", false},
              {"additional_data", nullptr},
              {"created_at", iso_now()},
              {"updated_at", iso_now()}};
  payments_[uuid] = p;
  heleket_by_order_[order_id] = uuid;
  co_return http::json_response(http::bhttp::status::ok, {{"state", 0}, {"result", p.object}});
}

void PaymentsEmulator::queue_yookassa_event(const std::string& event, const json& object, int copies) {
  if (options_.yookassa_webhook_url.empty()) return;
  json notification{{"type", "notification"}, {"event", event}, {"object", object}};
  for (int i = 0; i < copies; ++i)
    deliveries_.push_back({options_.yookassa_webhook_url, notification.dump(), {{"Content-Type", "application/json"}}});
  outstanding_ += copies;
  start_deliverers();
}

void PaymentsEmulator::queue_heleket_webhook(const Payment& p, const std::string& status, int copies,
                                             std::optional<std::string> amount_override) {
  if (p.callback_url.empty()) return;
  // Field order and values as Heleket sends them; signed over PHP's json_encode of everything but "sign".
  ordered_json body;
  body["type"] = "payment";
  body["uuid"] = p.id;
  body["order_id"] = p.order_id;
  body["amount"] = amount_override.value_or(p.object.value("amount", "0.00"));
  body["payment_amount"] = "2.150000";
  body["payment_amount_usd"] = "2.15";
  body["merchant_amount"] = "2.10700000";
  body["commission"] = "0.04300000";
  body["is_final"] = status != "check" && status != "process" && status != "confirm_check";
  body["status"] = status;
  body["from"] = "TX8mfTqVfNB1AbNGBkxqYrd7jWGmsaYpro";
  body["wallet_address_uuid"] = nullptr;
  body["network"] = "tron";
  body["currency"] = p.object.value("currency", "RUB");
  body["payer_currency"] = "USDT";
  body["additional_data"] = nullptr;
  body["convert"] = {
      {"to_currency", "USDT"}, {"commission", nullptr}, {"rate", "0.01080000"}, {"amount", "2.10700000"}};
  body["txid"] = "6f0d9c8a/emulated";  // a '/' so the PHP-style escaping is exercised on every webhook
  body["sign"] = heleket_sign(php_json_encode(body), options_.heleket_api_key);
  std::string text = php_json_encode(body);
  for (int i = 0; i < copies; ++i)
    deliveries_.push_back({p.callback_url, text, {{"Content-Type", "application/json"}}});
  outstanding_ += copies;
  start_deliverers();
}

bool PaymentsEmulator::settle(const std::string& provider, const std::string& id, const std::string& status, int copies,
                              std::optional<std::string> amount_override) {
  auto it = payments_.find(id);
  if (it == payments_.end() || it->second.provider != provider) return false;
  Payment& p = it->second;
  if (provider == "yookassa") {
    if (status != "succeeded" && status != "canceled" && status != "waiting_for_capture") return false;
    p.object["status"] = status;
    p.object["paid"] = status != "canceled";
    p.object["payment_method"] = payment_method_of(p);
    if (status == "succeeded") {
      p.object["captured_at"] = iso_now();
      p.object["refundable"] = true;
    }
    if (status == "canceled") {
      std::string reason = p.decline_reason.empty() ? "expired_on_confirmation" : p.decline_reason;
      // YooKassa never charges such a method again.
      if (reason == "permission_revoked" || reason == "card_expired") saved_methods_.erase(p.charged_method);
      p.object["cancellation_details"] = {
          {"party", reason == "expired_on_confirmation" ? "yoo_money" : "payment_network"}, {"reason", reason}};
    }
    json object = p.object;
    if (amount_override) object["amount"]["value"] = *amount_override;
    queue_yookassa_event("payment." + status, object, copies);
  } else if (provider == "cryptopay") {
    if (status != "paid" && status != "expired") return false;
    settle_cryptopay(p, status, copies, amount_override);
  } else {
    p.object["status"] = status;
    p.object["payment_status"] = status;
    p.object["is_final"] = true;
    p.object["updated_at"] = iso_now();
    queue_heleket_webhook(p, status, copies, amount_override);
  }
  return true;
}

bool PaymentsEmulator::refund(const std::string& provider, const std::string& id, int copies) {
  auto it = payments_.find(id);
  if (it == payments_.end() || it->second.provider != provider) return false;
  if (provider == "cryptopay") return false;  // Crypto Pay has no refunds (a transfer back is a new payment)
  Payment& p = it->second;
  if (provider == "yookassa") {
    if (p.object.value("status", "") != "succeeded") return false;
    std::string refund_id =
        fmt::format("{:08x}-0015-5000-8000-{:012x}", static_cast<uint32_t>(random_()), random_() & 0xffffffffffffULL);
    json refund{{"id", refund_id},
                {"payment_id", p.id},
                {"status", "succeeded"},
                {"amount", p.object["amount"]},
                {"created_at", iso_now()}};
    refunds_[refund_id] = refund;
    p.object["refunded_amount"] = p.object["amount"];
    queue_yookassa_event("refund.succeeded", refund, copies);
  } else {
    p.object["status"] = "refund_paid";
    queue_heleket_webhook(p, "refund_paid", copies, std::nullopt);
  }
  return true;
}

void PaymentsEmulator::start_deliverers() {
  deliveries_arrived_.notify();
  while (deliverers_ < concurrency_ && !stopping_) {
    ++deliverers_;
    asio::co_spawn(ex_, deliverer(), asio::detached);
  }
}

awaitable<void> PaymentsEmulator::deliverer() {
  while (!stopping_) {
    if (deliveries_.empty()) {
      deliveries_arrived_.reset();
      co_await deliveries_arrived_.wait_for(Millis(1000));
      if (deliveries_.empty()) break;  // idle deliverers end; new work starts them again
      continue;
    }
    Delivery d = std::move(deliveries_.front());
    deliveries_.pop_front();
    bool delivered = co_await post_webhook(*client_, d.url, d.headers, d.body, "payment notification");
    if (delivered) {
      stats_["webhooks_delivered"] = stats_["webhooks_delivered"].get<int>() + 1;
      --outstanding_;
      continue;
    }
    stats_["webhook_failed_attempts"] = stats_["webhook_failed_attempts"].get<int>() + 1;
    if (++d.attempts >= options_.webhook_max_attempts) {
      stats_["webhooks_dropped"] = stats_["webhooks_dropped"].get<int>() + 1;
      --outstanding_;
      continue;
    }
    // Retried later with backoff, like the providers do (YooKassa for 24 h).
    Millis delay(std::min(200 << d.attempts, 5000));
    asio::co_spawn(ex_, requeue_later(std::move(d), delay), asio::detached);
  }
  --deliverers_;
}

awaitable<void> PaymentsEmulator::requeue_later(Delivery d, Millis delay) {
  co_await sleep_for(delay);
  if (stopping_) co_return;
  deliveries_.push_back(std::move(d));
  start_deliverers();
}

awaitable<http::Response> PaymentsEmulator::checkout(http::Request& request) {
  std::string path(request.path());  // /checkout/<provider>/<id>[/pay|/cancel]
  std::vector<std::string> parts;
  for (size_t start = 1; start <= path.size();) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  if (parts.size() < 3) co_return http::make_response(http::bhttp::status::not_found, "no such checkout");
  const std::string &provider = parts[1], &id = parts[2];
  auto it = payments_.find(id);
  if (it == payments_.end() || it->second.provider != provider)
    co_return http::make_response(http::bhttp::status::not_found, "no such payment");
  Payment& p = it->second;
  std::string back =
      options_.chat_url.empty() ? "" : "<p><a href=\"" + html_escape(options_.chat_url) + "\">Back to the chat</a></p>";
  std::string brand = provider == "yookassa"    ? "YooKassa (emulated)"
                      : provider == "cryptopay" ? "Crypto Pay (emulated)"
                                                : "Heleket (emulated)";
  std::string amount = provider == "yookassa" ? p.object["amount"].value("value", "") + " ₽"
                       : provider == "cryptopay"
                           ? p.object.value("amount", "") + " " + p.object.value("fiat", p.object.value("asset", ""))
                           : p.object.value("amount", "") + " " + p.object.value("currency", "");
  if (request.message.method() == http::bhttp::verb::post && parts.size() == 4) {
    std::string status = p.object.value("status", "");
    bool open = status == "pending" || status == "check" || status == "active";
    if (!open)
      co_return http::make_response(
          http::bhttp::status::conflict,
          html_page(brand, "<h1>This payment is already " + html_escape(status) + "</h1>" + back),
          "text/html; charset=utf-8");
    bool pay = parts[3] == "pay";
    std::string final_status = provider == "yookassa"    ? (pay ? "succeeded" : "canceled")
                               : provider == "cryptopay" ? (pay ? "paid" : "expired")
                                                         : (pay ? "paid" : "cancel");
    settle(provider, id, final_status, 1, std::nullopt);
    co_return http::make_response(
        http::bhttp::status::ok,
        html_page(brand, std::string("<h1 id=\"result\">") + (pay ? "Payment complete" : "Payment canceled") +
                             "</h1><p class=\"muted\">" + html_escape(amount) +
                             "</p><p>You can return to the bot now.</p>" + back),
        "text/html; charset=utf-8");
  }
  std::string description =
      provider == "heleket" ? "Order " + p.object.value("order_id", "") : p.object.value("description", "");
  std::string status = p.object.value("status", "");
  if (p.save_method && status == "pending") description += " · the card will be saved for autopayments";
  std::string actions = (status == "pending" || status == "check" || status == "active")
                            ? "<form method=\"post\" action=\"" + path +
                                  "/pay\" style=\"display:inline\"><button "
                                  "class=\"pay\" id=\"pay\">Pay " +
                                  html_escape(amount) + "</button></form><form method=\"post\" action=\"" + path +
                                  "/cancel\" style=\"display:inline\"><button class=\"cancel\" "
                                  "id=\"cancel\">Cancel</button></form>"
                            : "<p>Status: <b>" + html_escape(status) + "</b></p>";
  co_return http::make_response(
      http::bhttp::status::ok,
      html_page(brand, "<p class=\"muted\">" + brand + "</p><h1>" + html_escape(description) + "</h1><p>Amount: <b>" +
                           html_escape(amount) + "</b></p>" + actions + back),
      "text/html; charset=utf-8");
}

awaitable<http::Response> PaymentsEmulator::client_api(http::Request& request) {
  std::string path(request.path());
  json body = json::object();
  if (!request.message.body().empty()) {
    body = json::parse(request.message.body(), nullptr, false);
    if (!body.is_object())
      co_return http::json_response(http::bhttp::status::bad_request, {{"error", "body must be a JSON object"}});
  }
  auto find_id = [&](const std::string& provider) -> std::string {
    if (body.contains("id")) return body["id"].get<std::string>();
    std::string order = body.value("order_id", "");
    for (const auto& [id, p] : payments_)
      if (p.provider == provider && p.order_id == order) return id;
    return "";
  };
  try {
    if (path == "/client/settle") {
      std::string provider = body.at("provider");
      std::optional<std::string> amount;
      if (body.contains("amount")) amount = body["amount"].get<std::string>();
      bool ok = settle(provider, find_id(provider), body.at("status"), body.value("copies", 1), amount);
      co_return http::json_response(ok ? http::bhttp::status::ok : http::bhttp::status::not_found, {{"ok", ok}});
    }
    if (path == "/client/settle_all") {
      std::string provider = body.at("provider");
      std::string status = body.at("status");
      int copies = body.value("copies", 1);
      std::vector<std::string> ids;
      for (const auto& [id, p] : payments_) {
        std::string s = p.object.value("status", "");
        if (p.provider == provider && (s == "pending" || s == "check" || s == "active")) ids.push_back(id);
      }
      for (const auto& id : ids) settle(provider, id, status, copies, std::nullopt);
      if (body.value("shuffle", true)) std::shuffle(deliveries_.begin(), deliveries_.end(), random_);
      co_return http::json_response(http::bhttp::status::ok, {{"settled", ids.size()}});
    }
    if (path == "/client/refund") {
      std::string provider = body.at("provider");
      bool ok = refund(provider, find_id(provider), body.value("copies", 1));
      co_return http::json_response(ok ? http::bhttp::status::ok : http::bhttp::status::not_found, {{"ok", ok}});
    }
    if (path == "/client/yookassa/decline") {
      // {"payment_method_id", "reason"}: charges of a saved method fail with this reason from now on ("" = succeed
      // again). {"reasons": [...]} without a method: the next card saved has its first charges declined with these,
      // in turn (a test can script a card's future before a scheduler's clock reaches it).
      if (!body.contains("payment_method_id")) {
        next_card_declines_.clear();
        for (const auto& reason : body.at("reasons")) next_card_declines_.push_back(reason.get<std::string>());
        co_return http::json_response(http::bhttp::status::ok, {{"ok", true}});
      }
      auto it = saved_methods_.find(body.at("payment_method_id").get<std::string>());
      if (it == saved_methods_.end()) co_return http::json_response(http::bhttp::status::not_found, {{"ok", false}});
      it->second.decline_reason = body.value("reason", "insufficient_funds");
      co_return http::json_response(http::bhttp::status::ok, {{"ok", true}});
    }
    if (path == "/client/yookassa/saved_methods") {
      json out = json::array();
      for (const auto& [id, card] : saved_methods_)
        out.push_back({{"id", id}, {"charges", card.charges}, {"decline_reason", card.decline_reason}});
      co_return http::json_response(http::bhttp::status::ok, {{"saved_methods", out}});
    }
    if (path == "/client/payments") {
      json out = json::array();
      std::vector<const Payment*> sorted;
      for (const auto& [id, p] : payments_) sorted.push_back(&p);
      std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->sequence < b->sequence; });
      for (const auto* p : sorted)
        out.push_back({{"provider", p->provider},
                       {"id", p->id},
                       {"order_id", p->order_id},
                       {"status", p->object.value("status", "")},
                       {"charged_method", p->charged_method},
                       {"receipt", p->receipt},
                       {"object", p->object}});
      co_return http::json_response(http::bhttp::status::ok, {{"payments", out}});
    }
    if (path == "/client/stats") {
      json s = stats_;
      s["pending_deliveries"] = outstanding_;  // queued, being sent, or waiting for a retry
      s["payments"] = payments_.size();
      co_return http::json_response(http::bhttp::status::ok, s);
    }
    if (path == "/client/config") {
      if (body.contains("yookassa_webhook_url")) options_.yookassa_webhook_url = body["yookassa_webhook_url"];
      if (body.contains("cryptopay_webhook_url")) options_.cryptopay_webhook_url = body["cryptopay_webhook_url"];
      if (body.contains("concurrency")) concurrency_ = std::clamp(body["concurrency"].get<int>(), 1, 256);
      if (body.contains("api_latency_ms"))
        api_latency_ = Millis(std::clamp(body["api_latency_ms"].get<int>(), 0, 60000));
      if (body.contains("receipts_required")) receipts_required_ = body["receipts_required"].get<bool>();
      if (body.contains("api_fail_next")) api_failures_left_ = std::max(0, body["api_fail_next"].get<int>());
      if (body.contains("api_lose_answer_next"))
        lose_answers_left_ = std::max(0, body["api_lose_answer_next"].get<int>());
      co_return http::json_response(http::bhttp::status::ok, {{"ok", true}});
    }
  } catch (const std::exception& e) {
    co_return http::json_response(http::bhttp::status::bad_request, {{"error", e.what()}});
  }
  co_return http::json_response(http::bhttp::status::not_found, {{"error", "unknown client call"}});
}

}  // namespace vpnbot::emulator
