#include "billing/provider.hpp"

namespace vpnbot::billing {

Verdict Verdict::paid_order(int64_t order_id, std::string payment_id, int64_t amount, std::string currency,
                            bool allow_overpay) {
  Verdict v;
  v.kind = Kind::paid;
  v.order_id = order_id;
  v.payment_id = std::move(payment_id);
  v.amount = amount;
  v.currency = std::move(currency);
  v.allow_overpay = allow_overpay;
  return v;
}

Verdict Verdict::canceled_order(int64_t order_id, std::string note) {
  Verdict v;
  v.kind = Kind::canceled;
  v.order_id = order_id;
  v.note = std::move(note);
  return v;
}

Verdict Verdict::refunded_order(int64_t order_id, int64_t amount, std::string note) {
  Verdict v;
  v.kind = Kind::refunded;
  v.order_id = order_id;
  v.amount = amount;
  v.note = std::move(note);
  return v;
}

Verdict Verdict::refunded_payment(std::string payment_id, int64_t amount, std::string currency, std::string note) {
  Verdict v;
  v.kind = Kind::refunded;
  v.payment_id = std::move(payment_id);
  v.amount = amount;
  v.currency = std::move(currency);
  v.note = std::move(note);
  return v;
}

Verdict Verdict::not_yet(std::string note) {
  Verdict v;
  v.kind = Kind::pending;
  v.note = std::move(note);
  return v;
}

Verdict Verdict::ignore(std::string note) {
  Verdict v;
  v.kind = Kind::ignored;
  v.note = std::move(note);
  return v;
}

NoticeCheck PaymentProvider::accept(const std::string&, const http::Request&) const {
  return RefusedNotice{http::bhttp::status::not_found, "malformed", name() + " takes no notifications"};
}

awaitable<CreatedPayment> PaymentProvider::create_payment(const Order& order, bool) {
  throw ProviderError(name() + " makes no payment links (order " + std::to_string(order.id) + ")", 0, false);
  co_return CreatedPayment{};
}

awaitable<Verdict> PaymentProvider::verify(const StoredEvent& event) {
  co_return Verdict::ignore(name() + " has no notifications to verify");
}

awaitable<AcceptedNotice> PaymentProvider::charge_saved_method(const Order& order) {
  throw ProviderError(name() + " cannot charge a saved method (order " + std::to_string(order.id) + ")", 0, false);
  co_return AcceptedNotice{};
}

awaitable<void> PaymentProvider::refund(const Order& order) {
  throw ProviderError(name() + " cannot refund by API (order " + std::to_string(order.id) + ")", 0, false);
  co_return;
}

PaymentProvider* PaymentProviders::find(std::string_view name) const {
  for (const auto& p : providers_)
    if (p->name() == name) return p.get();
  return nullptr;
}

std::vector<PaymentProvider*> PaymentProviders::configured() const {
  std::vector<PaymentProvider*> out;
  for (const auto& p : providers_)
    if (p->configured()) out.push_back(p.get());
  return out;
}

std::string external_order_ref(int64_t order_id) {
  return "vpnbot-" + std::to_string(order_id);
}

std::optional<int64_t> parse_external_order_ref(const std::string& ref) {
  if (ref.rfind("vpnbot-", 0) != 0 || ref.size() <= 7 || ref.size() > 25) return std::nullopt;
  int64_t id = 0;
  for (char c : ref.substr(7)) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + (c - '0');
  }
  return id;
}

}  // namespace vpnbot::billing
