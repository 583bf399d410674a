#include "billing/yookassa/provider.hpp"

#include "billing/yookassa/notification.hpp"

namespace vpnbot::billing {

YooKassaProvider::YooKassaProvider(http::Client& client, const YooKassaSettings& s,
                                   const std::string& default_return_url)
    : PaymentProvider("yookassa", kYooKassaWebhookPath),
      api_(client,
           YooKassaOptions{s.api_url, s.shop_id, s.secret_key, s.return_url.empty() ? default_return_url : s.return_url,
                           s.vat_code, s.receipt_email}),
      networks_(parse_networks(s.allowed_ips.empty() ? kYooKassaNetworks : s.allowed_ips)),
      save_cards_(s.save_cards) {}

bool yookassa_method_unusable(const std::string& reason) {
  return reason == "permission_revoked" || reason == "card_expired" || reason == "payment_method_restricted" ||
         reason == "identification_required";
}

NoticeCheck YooKassaProvider::accept(const std::string& source_ip, const http::Request& request) const {
  if (!any_contains(networks_, source_ip))
    return RefusedNotice{http::bhttp::status::forbidden, "foreign_ip", "source address is not YooKassa's"};
  auto notice = parse_yookassa_notification(request.message.body());
  if (!notice) return RefusedNotice{http::bhttp::status::bad_request, "malformed", "not a YooKassa notification"};
  return AcceptedNotice{notice->id, notice->event, std::move(notice->body)};
}

awaitable<CreatedPayment> YooKassaProvider::create_payment(const Order& order, bool) {
  auto payment = co_await api_.create_payment(order.id, order.amount, "VPN order " + std::to_string(order.id),
                                              save_cards_ && order.save_method);
  co_return CreatedPayment{payment.id, payment.confirmation_url};
}

awaitable<AcceptedNotice> YooKassaProvider::charge_saved_method(const Order& order) {
  if (!order.payment_method_id)
    throw ProviderError("order " + std::to_string(order.id) + " has no saved method", 0, false);
  YooKassaPayment payment;
  nlohmann::json object;
  if (order.provider_payment_id) {
    payment = co_await api_.get_payment(*order.provider_payment_id);
  } else {
    payment = co_await api_.charge_saved_method(
        order.id, order.amount, "VPN auto-renewal, order " + std::to_string(order.id), *order.payment_method_id);
  }
  // Shaped like YooKassa's own notification, so the webhook's later copy of it is the same stored event.
  std::string event = "payment." + payment.status;
  nlohmann::json notice{{"type", "notification"}, {"event", event}, {"object", {{"id", payment.id}}}, {"via", "api"}};
  co_return AcceptedNotice{payment.id, event, std::move(notice)};
}

awaitable<Verdict> YooKassaProvider::verify(const StoredEvent& event) {
  // Notifications are unsigned: the payment's state is taken from YooKassa's API, never from the body.
  if (event.event.rfind("payment.", 0) == 0) {
    auto payment = co_await api_.get_payment(event.external_id);
    if (!payment.order_id) co_return Verdict::ignore("payment without order metadata");
    if (payment.status == "succeeded") {
      auto paid = Verdict::paid_order(*payment.order_id, payment.id, payment.amount, payment.currency, false);
      if (payment.method_saved) {
        paid.saved_method_id = payment.method_id;
        paid.saved_method_title = payment.method_title;
      }
      co_return paid;
    }
    if (payment.status == "canceled") {
      std::string why =
          payment.cancellation_reason.empty() ? "payment canceled" : "payment canceled: " + payment.cancellation_reason;
      auto canceled = Verdict::canceled_order(*payment.order_id, why);
      canceled.saved_method_unusable = yookassa_method_unusable(payment.cancellation_reason);
      co_return canceled;
    }
    // A final notice ahead of the API's view is asked again later; an intermediate one needs nothing.
    if (event.event == "payment.succeeded" || event.event == "payment.canceled")
      co_return Verdict::not_yet("yookassa says " + payment.status + " for " + event.event);
    co_return Verdict::ignore("ignored: " + payment.status);
  }
  if (event.event == "refund.succeeded") {
    auto refund = co_await api_.get_refund(event.external_id);
    if (refund.status != "succeeded") co_return Verdict::not_yet("refund is " + refund.status + " so far");
    co_return Verdict::refunded_payment(refund.payment_id, refund.amount, refund.currency,
                                        "yookassa refund " + refund.id);
  }
  co_return Verdict::ignore("ignored event " + event.event);
}

}  // namespace vpnbot::billing
