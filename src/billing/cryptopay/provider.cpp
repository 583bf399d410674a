#include "billing/cryptopay/provider.hpp"

#include "billing/money.hpp"

namespace vpnbot::billing {
namespace {

std::optional<int64_t> parse_invoice_id(const std::string& text) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoll(text);
}

// The invoice's amount in kopecks when it is a rouble invoice; -1 otherwise (never equal to an order: a mismatch).
int64_t rub_amount(const CryptoPayInvoice& invoice) {
  if (invoice.currency_type != "fiat" || invoice.fiat != "RUB") return -1;
  try {
    return parse_rub(invoice.amount);
  } catch (const std::invalid_argument&) {
    return -1;  // more than two decimals or not a number: a mismatch an admin sees
  }
}

}  // namespace

CryptoPayProvider::CryptoPayProvider(http::Client& client, const CryptoPaySettings& s, int invoice_lifetime_s)
    : PaymentProvider("cryptopay", kCryptoPayWebhookPath),
      api_(client, CryptoPayOptions{s.api_url, s.token, s.accepted_assets, invoice_lifetime_s}),
      token_(s.token) {}

NoticeCheck CryptoPayProvider::accept(const std::string&, const http::Request& request) const {
  // Crypto Pay publishes no source addresses: the signature is the check.
  try {
    auto update = verify_cryptopay_update(request.message.body(), request.header("crypto-pay-api-signature"), token_);
    // Deduplicated by invoice and status: redeliveries of one payment are one event.
    return AcceptedNotice{std::to_string(update.invoice.invoice_id), update.invoice.status, std::move(update.body)};
  } catch (const std::invalid_argument& e) {
    std::string problem = e.what();
    bool forged = problem == "signature does not match" || problem == "no crypto-pay-api-signature header";
    return RefusedNotice{http::bhttp::status::bad_request, forged ? "bad_sign" : "malformed", problem};
  }
}

awaitable<CreatedPayment> CryptoPayProvider::create_payment(const Order& order, bool retry) {
  std::string ref = external_order_ref(order.id);
  // A previous attempt may have created the invoice and lost the answer: reuse a live one with our payload (the
  // live invoices are the last order_ttl's pending orders; a few pages at most).
  constexpr int kPage = 1000, kMaxPages = 5;
  for (int page = 0; retry && page < kMaxPages; ++page) {
    auto active = co_await api_.list_invoices("active", page * kPage, kPage);
    for (const auto& invoice : active)
      if (invoice.payload == ref) co_return CreatedPayment{std::to_string(invoice.invoice_id), invoice.url};
    if (static_cast<int>(active.size()) < kPage) break;
  }
  auto invoice = co_await api_.create_invoice(order.id, order.amount, "VPN order " + std::to_string(order.id));
  co_return CreatedPayment{std::to_string(invoice.invoice_id), invoice.url};
}

awaitable<Verdict> CryptoPayProvider::verify(const StoredEvent& event) {
  auto invoice_id = parse_invoice_id(event.external_id);
  if (!invoice_id) co_return Verdict::ignore("not an invoice id: " + event.external_id);
  // Signed notices are still read back: the invoice's state is Crypto Pay's, not the body's.
  std::vector<int64_t> ids{*invoice_id};
  auto invoices = co_await api_.get_invoices(ids);
  if (invoices.empty()) co_return Verdict::ignore("Crypto Pay does not know the invoice");
  const auto& invoice = invoices.front();
  auto order_id = parse_external_order_ref(invoice.payload);
  if (!order_id) co_return Verdict::ignore("not our invoice (payload " + invoice.payload + ")");
  if (invoice.status == "paid")
    co_return Verdict::paid_order(*order_id, event.external_id, rub_amount(invoice),
                                  invoice.currency_type == "fiat" ? invoice.fiat : invoice.paid_asset, false);
  if (invoice.status == "expired") co_return Verdict::canceled_order(*order_id, "cryptopay: invoice expired");
  if (event.event == "paid") co_return Verdict::not_yet("cryptopay says " + invoice.status);
  co_return Verdict::ignore("ignored status " + invoice.status);
}

}  // namespace vpnbot::billing
