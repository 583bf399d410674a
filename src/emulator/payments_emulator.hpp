#pragma once
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>

#include "core/event.hpp"
#include "emulator/http_emulator.hpp"
#include "http/client.hpp"
#include "http/server.hpp"

namespace vpnbot::emulator {

struct PaymentsEmulatorOptions {
  HostPort listen{"127.0.0.1", 0};
  std::string yookassa_shop_id = "100500";
  std::string yookassa_secret_key = "test_secret_key";
  std::string yookassa_webhook_url;  // set in YooKassa's dashboard in real life; here by option or client API
  std::string heleket_merchant = "8b03432e-385b-4670-8d06-064591096795";
  std::string heleket_api_key = "test-heleket-api-key";
  std::string cryptopay_token = "12345:AAcryptopay-emulator-token";
  std::string cryptopay_webhook_url;  // set in @CryptoBot's app settings in real life
  std::string chat_url;               // where the checkout pages link back to (the sandbox web chat)
  int webhook_max_attempts = 8;
};

// Emulators of the YooKassa API v3, the Heleket API v1 and the Crypto Pay API with their documented shapes: Basic
// auth and Idempotence-Key (YooKassa), merchant + md5 sign headers and signed webhooks (Heleket), the app token
// header, {"ok":...} answers, parameter validation and HMAC-signed invoice_paid updates (Crypto Pay), payment and
// refund objects, checkout pages with Pay/Cancel for people, and a client API under /client/ for tests: settle one or
// all payments, refund, deliver every webhook N times in shuffled order, list payments, slow the APIs down or make the
// next N calls fail with a 5xx or lose their answers after doing the work (/client/config: api_latency_ms,
// api_fail_next, api_lose_answer_next). YooKassa autopayments: a payment with save_payment_method saves the card it
// is paid with, a payment_method_id charges it without the user (declines set by /client/yookassa/decline), and
// 54-FZ receipts are validated (required with receipts_required). Webhooks are retried on
// non-2xx like the real services. Single-threaded: run it on its own io_context.
class PaymentsEmulator : public HttpEmulator {
 public:
  PaymentsEmulator(asio::any_io_executor ex, PaymentsEmulatorOptions options);
  ~PaymentsEmulator();
  void start();
  awaitable<void> shutdown();
  void set_yookassa_webhook_url(std::string url) { options_.yookassa_webhook_url = std::move(url); }

 private:
  struct Payment {
    std::string provider;   // yookassa, heleket
    std::string id;         // YooKassa payment id / Heleket uuid
    nlohmann::json object;  // YooKassa payment object, or Heleket invoice
    std::string order_id;   // metadata.order_id / Heleket order_id
    std::string callback_url;
    int64_t sequence = 0;
    bool save_method = false;    // YooKassa save_payment_method
    std::string charged_method;  // YooKassa: the saved method this payment charged (or saved)
    std::string decline_reason;  // YooKassa: why this charge of a saved method was declined ("" = it was not)
    nlohmann::json receipt;      // YooKassa 54-FZ receipt data, as sent
  };
  struct SavedCard {
    std::string title;
    std::string decline_reason;        // charges are canceled with this cancellation_details.reason while set
    std::deque<std::string> declines;  // reasons for the next charges, in turn, before decline_reason applies
    int charges = 0;
  };
  struct Delivery {
    std::string url;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    int attempts = 0;
  };

  void register_routes();
  // Counts an API call, waits the configured latency, and answers an injected 5xx while any are left.
  awaitable<std::optional<http::Response>> api_weather(const std::string& provider);
  // Carries the call out, then answers 504 instead while api_lose_answer_next calls are left.
  awaitable<http::Response> losing_answers(awaitable<http::Response> call);
  awaitable<http::Response> yookassa_api(http::Request& request);
  awaitable<http::Response> heleket_api(http::Request& request);
  // YooKassa's payment_method object for a payment; registers the card as saved when the payment asked for it.
  nlohmann::json payment_method_of(Payment& p);
  awaitable<http::Response> cryptopay_api(http::Request& request);  // emulator/cryptopay_emulator.cpp
  awaitable<http::Response> checkout(http::Request& request);
  awaitable<http::Response> client_api(http::Request& request);
  // Changes a payment's state and queues its notification `copies` times. Returns false for an unknown payment.
  bool settle(const std::string& provider, const std::string& id, const std::string& status, int copies,
              std::optional<std::string> amount_override);
  bool refund(const std::string& provider, const std::string& id, int copies);
  void queue_yookassa_event(const std::string& event, const nlohmann::json& object, int copies);
  void queue_heleket_webhook(const Payment& p, const std::string& status, int copies,
                             std::optional<std::string> amount_override);
  // Crypto Pay sends only invoice_paid updates: expiry and cancellation are silent.
  void settle_cryptopay(Payment& p, const std::string& status, int copies, std::optional<std::string> amount_override);
  void start_deliverers();
  awaitable<void> deliverer();
  awaitable<void> requeue_later(Delivery d, Millis delay);

  PaymentsEmulatorOptions options_;
  std::unique_ptr<http::Client> client_;
  std::map<std::string, Payment> payments_;              // by id
  std::map<std::string, std::string> idempotence_;       // Idempotence-Key -> payment/refund id
  std::map<std::string, nlohmann::json> refunds_;        // YooKassa refund objects by id
  std::map<std::string, std::string> heleket_by_order_;  // Heleket order_id -> uuid
  std::map<std::string, SavedCard> saved_methods_;       // YooKassa payment_method_id -> card
  std::deque<std::string> next_card_declines_;           // declines scripted for the next card saved
  bool receipts_required_ = false;                       // the shop is set up for 54-FZ: every payment needs one
  int64_t cryptopay_invoice_seq_ = 528800;
  int64_t cryptopay_update_seq_ = 0;
  std::deque<Delivery> deliveries_;
  int64_t outstanding_ = 0;  // webhooks neither delivered nor dropped yet (incl. in flight and awaiting a retry)
  Event deliveries_arrived_;
  int deliverers_ = 0;
  int concurrency_ = 8;
  Millis api_latency_{0};
  int api_failures_left_ = 0;
  int lose_answers_left_ = 0;
  int64_t sequence_ = 0;
  std::mt19937_64 random_{42};
  bool stopping_ = false;
  nlohmann::json stats_ = {{"webhooks_delivered", 0}, {"webhook_failed_attempts", 0}, {"webhooks_dropped", 0},
                           {"api_calls", 0},          {"api_failures_injected", 0},   {"api_answers_lost", 0},
                           {"auth_failures", 0}};
};

}  // namespace vpnbot::emulator
