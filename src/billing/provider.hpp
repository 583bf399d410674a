#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "billing/orders.hpp"
#include "core/asio.hpp"
#include "core/owned.hpp"
#include "http/remote_error.hpp"
#include "http/server.hpp"

namespace vpnbot::billing {

// The provider answered with an error. retryable: 429/5xx (try again later); otherwise the request is wrong.
class ProviderError : public http::RemoteError {
 public:
  using RemoteError::RemoteError;
};

// A payment the provider made for an order: its id and the page where the user pays.
struct CreatedPayment {
  std::string payment_id, url;
};

// A notification that passed the provider's checks, as it is stored: once per (provider, external_id, event).
struct AcceptedNotice {
  std::string external_id, event;
  nlohmann::json payload;
};
// A notification refused at the door: the HTTP answer, the metrics label (foreign_ip, bad_sign, malformed) and why.
struct RefusedNotice {
  http::bhttp::status status;
  std::string result, reason;
};
using NoticeCheck = std::variant<AcceptedNotice, RefusedNotice>;

// One stored notification, as the worker reads it back.
struct StoredEvent {
  int64_t id = 0;
  std::string provider, external_id, event;
  nlohmann::json payload;
  bool processed = false;
};

// What a stored notification amounts to once the provider's own record confirms it.
struct Verdict {
  enum class Kind {
    paid,      // order_id was paid: amount in currency under payment_id
    canceled,  // order_id will not be paid (note says why)
    refunded,  // a payment was refunded: by order_id, or by payment_id when the notice names only the payment
    pending,   // the provider's record does not confirm the notice yet: asked again later with backoff
    ignored,   // nothing to do (note says why)
  };
  Kind kind = Kind::ignored;
  std::optional<int64_t> order_id;
  std::string payment_id;
  int64_t amount = 0;  // minor units; -1 when unreadable (never equal to an order: recorded as a mismatch)
  std::string currency;
  bool allow_overpay = false;  // crypto: more than the invoice is still a payment
  std::string note;
  // paid: the method the provider saved for charges without the user (kept only if the order asked to save it).
  std::string saved_method_id, saved_method_title;
  // canceled: the saved method that was charged can never be charged again (permission revoked, card expired).
  bool saved_method_unusable = false;

  // Named constructors (plain functions: g++ 12 miscompiles aggregates built from string literals in co_return).
  static Verdict paid_order(int64_t order_id, std::string payment_id, int64_t amount, std::string currency,
                            bool allow_overpay);
  static Verdict canceled_order(int64_t order_id, std::string note);
  static Verdict refunded_order(int64_t order_id, int64_t amount, std::string note);
  static Verdict refunded_payment(std::string payment_id, int64_t amount, std::string currency, std::string note);
  static Verdict not_yet(std::string note);
  static Verdict ignore(std::string note);
};

// One payment provider: everything billing needs of it, so that a new provider is one folder implementing this.
// Pure parts (accept) are unit-tested and fuzzed; the rest is driven by the billing jobs, each call safe to repeat.
class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;
  // orders.provider and payment_events.provider.
  const std::string& name() const { return name_; }
  // Where the provider posts its notifications (a path under public_url); empty when it has none (Stars: updates).
  const std::string& webhook_path() const { return webhook_path_; }
  // Credentials present: offered at checkout, its webhook route served.
  virtual bool configured() const = 0;
  // Authenticates and parses one notification as the provider documents it (source address, signature). No I/O.
  virtual NoticeCheck accept(const std::string& source_ip, const http::Request& request) const;
  // Creates the payment for a pending order. Idempotent per order: a retry (`retry`: an earlier attempt may have
  // created it and lost the answer) returns the same payment, never a second one to pay.
  virtual awaitable<CreatedPayment> create_payment(const Order& order, bool retry);
  // What a stored notification means, re-checked with the provider's API where the provider asks for it.
  virtual awaitable<Verdict> verify(const StoredEvent& event);
  // Charges the saved method of an auto-renewal order (order.payment_method_id) without the user. Idempotent per
  // order; once an attempt's answer is known (order.provider_payment_id) it reads that payment instead. Returns the
  // payment as the notification the provider would send about it, to be stored and applied exactly like one.
  virtual bool can_charge_saved_method() const { return false; }
  virtual awaitable<AcceptedNotice> charge_saved_method(const Order& order);
  // Returns the money of a paid order (where the provider can); a repeat after success must not pay twice.
  virtual bool can_refund() const { return false; }
  virtual awaitable<void> refund(const Order& order);

 protected:
  explicit PaymentProvider(std::string name, std::string webhook_path = "")
      : name_(std::move(name)), webhook_path_(std::move(webhook_path)) {}

 private:
  std::string name_;
  std::string webhook_path_;
};

// The providers this process knows, by name. Built once at startup (app/serve) and read-only afterwards.
class PaymentProviders {
 public:
  template <typename Provider, typename... Args>
  Provider& add(Args&&... args) {
    return emplace_owned<Provider>(providers_, std::forward<Args>(args)...);
  }
  // A provider by name (configured or not: callers decide what an unconfigured one means), or null.
  PaymentProvider* find(std::string_view name) const;
  std::vector<PaymentProvider*> configured() const;

 private:
  std::vector<std::unique_ptr<PaymentProvider>> providers_;
};

// "vpnbot-<order id>": the order reference the crypto providers carry back (order_id, payload).
std::string external_order_ref(int64_t order_id);
std::optional<int64_t> parse_external_order_ref(const std::string& ref);

}  // namespace vpnbot::billing
