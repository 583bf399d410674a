#include "billing/heleket/provider.hpp"

#include "billing/money.hpp"

namespace vpnbot::billing {
namespace {

// A signed body may still carry null or a number where text is documented: read as empty.
std::string text_field(const nlohmann::json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t rub_or_mismatch(const nlohmann::json& body) {
  try {
    return parse_rub(text_field(body, "amount"));
  } catch (const std::invalid_argument&) {
    return -1;  // never equal to an order: recorded as a mismatch
  }
}

}  // namespace

HeleketProvider::HeleketProvider(http::Client& client, const HeleketSettings& s, std::string callback_url,
                                 std::string return_url, int invoice_lifetime_s)
    : PaymentProvider("heleket", kHeleketWebhookPath),
      api_(client, HeleketOptions{s.api_url, s.merchant, s.api_key, std::move(callback_url), std::move(return_url),
                                  invoice_lifetime_s}),
      api_key_(s.api_key),
      networks_(parse_networks(s.allowed_ips)) {}

NoticeCheck HeleketProvider::accept(const std::string& source_ip, const http::Request& request) const {
  if (!networks_.empty() && !any_contains(networks_, source_ip))
    return RefusedNotice{http::bhttp::status::forbidden, "foreign_ip", "source address is not Heleket's"};
  const std::string& body = request.message.body();
  HeleketWebhook webhook;
  try {
    webhook = verify_heleket_webhook(body, api_key_);
  } catch (const std::invalid_argument& e) {
    std::string problem = e.what();
    return RefusedNotice{http::bhttp::status::bad_request, problem == "sign does not match" ? "bad_sign" : "malformed",
                         problem};
  }
  return AcceptedNotice{webhook.uuid, webhook.status, std::move(webhook.body)};
}

awaitable<CreatedPayment> HeleketProvider::create_payment(const Order& order, bool) {
  auto invoice = co_await api_.create_invoice(order.id, order.amount);
  co_return CreatedPayment{invoice.uuid, invoice.url};
}

awaitable<Verdict> HeleketProvider::verify(const StoredEvent& event) {
  // The body's signature was verified on receipt, so its fields are Heleket's.
  const nlohmann::json& body = event.payload;
  auto order_id = parse_external_order_ref(text_field(body, "order_id"));
  if (!order_id) co_return Verdict::ignore("not our order id");
  const std::string& status = event.event;
  if (status == "paid" || status == "paid_over")
    co_return Verdict::paid_order(*order_id, event.external_id, rub_or_mismatch(body), text_field(body, "currency"),
                                  true);
  if (status == "wrong_amount" || status == "fail" || status == "cancel" || status == "system_fail")
    co_return Verdict::canceled_order(*order_id, "heleket: " + status);
  if (status == "refund_paid")
    co_return Verdict::refunded_order(*order_id, rub_or_mismatch(body), "heleket refund " + event.external_id);
  co_return Verdict::ignore("ignored status " + status);
}

}  // namespace vpnbot::billing
