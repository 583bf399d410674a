// The Crypto Pay API part of the payments emulator (https://help.crypt.bot/crypto-pay-api): the app token in the
// Crypto-Pay-API-Token header, parameters as JSON or a query string, {"ok":true,"result":...} answers and
// {"ok":false,"error":{"code":...,"name":...}} errors with the API's names, invoices that expire, and invoice_paid
// updates signed with HMAC-SHA-256 keyed by SHA-256 of the token.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <regex>
#include <set>

#include "core/encoding.hpp"
#include "emulator/common.hpp"
#include "emulator/payments_emulator.hpp"

namespace vpnbot::emulator {
namespace {

using json = nlohmann::json;

std::string iso_at(std::chrono::system_clock::time_point at) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.000Z", fmt::gmtime(std::chrono::system_clock::to_time_t(at)));
}

http::Response cryptopay_error(http::bhttp::status status, const std::string& name) {
  return http::json_response(status, {{"ok", false}, {"error", {{"code", static_cast<int>(status)}, {"name", name}}}});
}

http::Response cryptopay_ok(const json& result) {
  return http::json_response(http::bhttp::status::ok, {{"ok", true}, {"result", result}});
}

const std::set<std::string> kAssets{"USDT", "TON", "BTC", "ETH", "LTC", "BNB", "TRX", "USDC"};
const std::set<std::string> kFiats{"USD", "EUR", "RUB", "BYN", "UAH", "GBP", "CNY", "KZT", "UZS", "GEL", "TRY"};

// A parameter as text whether it came as a JSON string or number (the API takes both).
std::optional<std::string> text_param(const json& params, const char* key) {
  auto it = params.find(key);
  if (it == params.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return it->dump();
  return std::string("\x01");  // present but neither: fails every check below
}

// An integer parameter (default when absent); nullopt when it is not one.
std::optional<int64_t> int_param(const json& params, const char* key, int64_t fallback) {
  auto text = text_param(params, key);
  if (!text) return fallback;
  static const std::regex int_re(R"(^-?\d{1,12}$)");
  if (!std::regex_match(*text, int_re)) return std::nullopt;
  return std::stoll(*text);
}

}  // namespace

awaitable<http::Response> PaymentsEmulator::cryptopay_api(http::Request& request) {
  auto failure = co_await api_weather("cryptopay");  // named first: g++ 12 miscompiles co_await in a condition
  if (failure) co_return std::move(*failure);
  if (!constant_time_equal(request.header("Crypto-Pay-API-Token"), options_.cryptopay_token)) {
    stats_["auth_failures"] = stats_["auth_failures"].get<int>() + 1;
    co_return cryptopay_error(http::bhttp::status::unauthorized, "UNAUTHORIZED");
  }
  std::string method(request.path().substr(5));  // after "/api/"
  json params = json::object();
  if (!request.message.body().empty()) {
    params = json::parse(request.message.body(), nullptr, false);
    if (!params.is_object()) co_return cryptopay_error(http::bhttp::status::bad_request, "PARAMS_INVALID");
  }
  for (const auto& [key, value] : query_params(request.target())) params[key] = value;

  auto now = std::chrono::system_clock::now();
  // Invoices past their expiration_date are expired whenever anyone looks.
  for (auto& [id, p] : payments_) {
    if (p.provider != "cryptopay" || p.object.value("status", "") != "active") continue;
    if (p.object.contains("expires_at_unix") &&
        p.object["expires_at_unix"].get<int64_t>() <
            std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count())
      p.object["status"] = "expired";
  }
  auto visible = [](json object) {
    object.erase("expires_at_unix");  // bookkeeping, not part of the API's Invoice
    return object;
  };

  if (method == "getMe")
    co_return cryptopay_ok(
        {{"app_id", 28692}, {"name", "vpnbot emulated app"}, {"payment_processing_bot_username", "CryptoBot"}});
  if (method == "createInvoice") {
    std::string currency_type = text_param(params, "currency_type").value_or("crypto");
    if (currency_type != "crypto" && currency_type != "fiat")
      co_return cryptopay_error(http::bhttp::status::bad_request, "CURRENCY_TYPE_INVALID");
    auto asset = text_param(params, "asset");
    auto fiat = text_param(params, "fiat");
    if (currency_type == "crypto" && (!asset || !kAssets.count(*asset)))
      co_return cryptopay_error(http::bhttp::status::bad_request, "ASSET_INVALID");
    if (currency_type == "fiat" && (!fiat || !kFiats.count(*fiat)))
      co_return cryptopay_error(http::bhttp::status::bad_request, "FIAT_INVALID");
    static const std::regex amount_re(R"(^\d{1,12}(\.\d{1,18})?$)");
    auto amount = text_param(params, "amount");
    if (!amount || !std::regex_match(*amount, amount_re) || amount->find_first_not_of("0.") == std::string::npos)
      co_return cryptopay_error(http::bhttp::status::bad_request, "AMOUNT_INVALID");
    json accepted = json::array();
    if (auto list = text_param(params, "accepted_assets"); list && currency_type == "fiat") {
      for (size_t start = 0; start <= list->size();) {
        auto comma = list->find(',', start);
        if (comma == std::string::npos) comma = list->size();
        std::string item = list->substr(start, comma - start);
        if (!kAssets.count(item))
          co_return cryptopay_error(http::bhttp::status::bad_request, "ACCEPTED_ASSETS_INVALID");
        accepted.push_back(item);
        start = comma + 1;
      }
    }
    std::string payload = text_param(params, "payload").value_or("");
    if (payload.size() > 4096) co_return cryptopay_error(http::bhttp::status::bad_request, "PAYLOAD_TOO_LONG");
    std::string description = text_param(params, "description").value_or("");
    if (description.size() > 1024) co_return cryptopay_error(http::bhttp::status::bad_request, "DESCRIPTION_TOO_LONG");
    auto expires_in = int_param(params, "expires_in", 0);
    if (!expires_in || (params.contains("expires_in") && (*expires_in < 1 || *expires_in > 2678400)))
      co_return cryptopay_error(http::bhttp::status::bad_request, "EXPIRES_IN_INVALID");
    int64_t id = ++cryptopay_invoice_seq_;
    std::string hash = fmt::format("IV{:010X}", random_() & 0xffffffffffULL);
    Payment p;
    p.provider = "cryptopay";
    p.id = std::to_string(id);
    p.order_id = payload;
    p.sequence = ++sequence_;
    std::string url = base_url() + "/checkout/cryptopay/" + p.id;
    p.object = {{"invoice_id", id},
                {"hash", hash},
                {"currency_type", currency_type},
                {"amount", *amount},
                {"bot_invoice_url", url},
                {"mini_app_invoice_url", url + "?mode=mini_app"},
                {"web_app_invoice_url", url + "?mode=web_app"},
                {"description", description},
                {"status", "active"},
                {"created_at", iso_at(now)},
                {"allow_comments", !params.contains("allow_comments") || params["allow_comments"] != false},
                {"allow_anonymous", !params.contains("allow_anonymous") || params["allow_anonymous"] != false},
                {"payload", payload}};
    if (currency_type == "crypto") p.object["asset"] = *asset;
    if (currency_type == "fiat") {
      p.object["fiat"] = *fiat;
      p.object["accepted_assets"] = accepted.empty() ? json::array({"USDT", "TON", "BTC"}) : accepted;
    }
    if (*expires_in > 0) {
      p.object["expiration_date"] = iso_at(now + std::chrono::seconds(*expires_in));
      p.object["expires_at_unix"] =
          std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() + *expires_in;
    }
    payments_[p.id] = p;
    co_return cryptopay_ok(visible(p.object));
  }
  if (method == "getInvoices") {
    std::optional<std::set<std::string>> ids;
    if (auto list = text_param(params, "invoice_ids")) {
      ids.emplace();
      for (size_t start = 0; start <= list->size();) {
        auto comma = list->find(',', start);
        if (comma == std::string::npos) comma = list->size();
        ids->insert(list->substr(start, comma - start));
        start = comma + 1;
      }
    }
    std::string status = text_param(params, "status").value_or("");
    if (!status.empty() && status != "active" && status != "paid")
      co_return cryptopay_error(http::bhttp::status::bad_request, "STATUS_INVALID");
    auto offset_param = int_param(params, "offset", 0), count_param = int_param(params, "count", 100);
    if (!offset_param || *offset_param < 0)
      co_return cryptopay_error(http::bhttp::status::bad_request, "OFFSET_INVALID");
    if (!count_param || *count_param < 1 || *count_param > 1000)
      co_return cryptopay_error(http::bhttp::status::bad_request, "COUNT_INVALID");
    int64_t offset = *offset_param, count = *count_param;
    std::vector<const Payment*> matching;
    for (const auto& [id, p] : payments_)
      if (p.provider == "cryptopay" && (!ids || ids->count(id)) &&
          (status.empty() || p.object.value("status", "") == status))
        matching.push_back(&p);
    std::sort(matching.begin(), matching.end(), [](auto* a, auto* b) { return a->sequence > b->sequence; });
    json items = json::array();
    for (int64_t i = offset; i < static_cast<int64_t>(matching.size()) && i < offset + count; ++i)
      items.push_back(visible(matching[i]->object));
    co_return cryptopay_ok({{"items", items}});
  }
  if (method == "deleteInvoice") {
    std::string id = text_param(params, "invoice_id").value_or("");
    auto it = payments_.find(id);
    if (it == payments_.end() || it->second.provider != "cryptopay")
      co_return cryptopay_error(http::bhttp::status::bad_request, "INVOICE_NOT_FOUND");
    payments_.erase(it);
    co_return cryptopay_ok(true);
  }
  co_return cryptopay_error(http::bhttp::status::method_not_allowed, "METHOD_NOT_FOUND");
}

void PaymentsEmulator::settle_cryptopay(Payment& p, const std::string& status, int copies,
                                        std::optional<std::string> amount_override) {
  p.object["status"] = status;
  if (status != "paid") return;  // Crypto Pay sends no update for an expired invoice
  auto now = std::chrono::system_clock::now();
  p.object["paid_at"] = iso_at(now);
  p.object["paid_asset"] = "USDT";
  p.object["paid_amount"] = "2.15";
  p.object["paid_fiat_rate"] = "92.55";
  p.object["paid_usd_rate"] = "1.00";
  p.object["fee_asset"] = "USDT";
  p.object["fee_amount"] = "0.0645";
  p.object["paid_anonymously"] = false;
  if (options_.cryptopay_webhook_url.empty()) return;
  json invoice = p.object;
  invoice.erase("expires_at_unix");
  if (amount_override) invoice["amount"] = *amount_override;
  json update{{"update_id", ++cryptopay_update_seq_},
              {"update_type", "invoice_paid"},
              {"request_date", iso_at(now)},
              {"payload", invoice}};
  std::string body = update.dump();
  std::string signature = cryptopay_signature(body, options_.cryptopay_token);
  for (int i = 0; i < copies; ++i)
    deliveries_.push_back({options_.cryptopay_webhook_url,
                           body,
                           {{"Content-Type", "application/json"}, {"crypto-pay-api-signature", signature}}});
  outstanding_ += copies;
  start_deliverers();
}

}  // namespace vpnbot::emulator
