// Pure billing logic: money parsing and formatting, promo pricing, referral rewards, Heleket's signature, IP filters.
#include <gtest/gtest.h>

#include "billing/cryptopay/notification.hpp"
#include "billing/heleket/api.hpp"
#include "billing/money.hpp"
#include "billing/yookassa/notification.hpp"
#include "config/config.hpp"
#include "core/ip_network.hpp"
#include "emulator/common.hpp"

using namespace vpnbot;
using namespace vpnbot::billing;

TEST(Money, ParsesRoublesExactly) {
  EXPECT_EQ(parse_rub("199"), 19900);
  EXPECT_EQ(parse_rub("199.5"), 19950);
  EXPECT_EQ(parse_rub("199.05"), 19905);
  EXPECT_EQ(parse_rub("0.01"), 1);
  for (const char* bad : {"", "1.", ".5", "1.234", "-1", "1e3", "12a", " 1", "1,50", "99999999999999999999"})
    EXPECT_THROW(parse_rub(bad), std::invalid_argument) << bad;
  EXPECT_EQ(rub_decimal(19950), "199.50");
  EXPECT_EQ(rub_decimal(5), "0.05");
  EXPECT_EQ(rub_decimal(-150), "-1.50");
  EXPECT_EQ(format_rub(19900), "199 ₽");
  EXPECT_EQ(format_rub(19950), "199.50 ₽");
}

TEST(Money, PromoPricing) {
  auto none = price_with_promo(19900, 100, std::nullopt);
  EXPECT_EQ(none.rub, 19900);
  EXPECT_EQ(none.stars, 100);
  EXPECT_EQ(none.discount_rub, 0);
  auto pct = price_with_promo(19900, 100, PromoTerms{"percent", 20});
  EXPECT_EQ(pct.discount_rub, 3980);
  EXPECT_EQ(pct.rub, 15920);
  EXPECT_EQ(pct.stars, 80);
  auto fixed = price_with_promo(19900, 100, PromoTerms{"fixed", 5000});
  EXPECT_EQ(fixed.rub, 14900);
  EXPECT_EQ(fixed.stars, 75) << "stars follow the same proportion, rounded up";
  auto huge = price_with_promo(19900, 100, PromoTerms{"fixed", 1000000});
  EXPECT_EQ(huge.rub, 100) << "never below 1 rouble";
  EXPECT_GE(huge.stars, 1);
  auto full = price_with_promo(19900, 100, PromoTerms{"percent", 100});
  EXPECT_EQ(full.rub, 100);
  auto unlock = price_with_promo(19900, 100, PromoTerms{"plan", 0});
  EXPECT_EQ(unlock.rub, 19900) << "a plan-unlock code changes no price";
}

TEST(Money, PromoGroupDiscountComesFirstAndACodeAppliesToWhatIsLeft) {
  auto group = price_with_discounts(19900, 100, 20, std::nullopt);
  EXPECT_EQ(group.group_discount_rub, 3980);
  EXPECT_EQ(group.discount_rub, 3980);
  EXPECT_EQ(group.rub, 15920);
  EXPECT_EQ(group.stars, 80);
  auto both = price_with_discounts(19900, 100, 20, PromoTerms{"percent", 10});
  EXPECT_EQ(both.group_discount_rub, 3980);
  EXPECT_EQ(both.discount_rub, 3980 + 1592) << "10 % of the 159.20 left, not of 199";
  EXPECT_EQ(both.rub, 14328);
  EXPECT_EQ(both.stars, 72);
  auto fixed = price_with_discounts(19900, 100, 50, PromoTerms{"fixed", 20000});
  EXPECT_EQ(fixed.group_discount_rub, 9950);
  EXPECT_EQ(fixed.rub, 100) << "a fixed code larger than what is left still leaves 1 rouble";
  auto whole = price_with_discounts(19900, 100, 100, std::nullopt);
  EXPECT_EQ(whole.rub, 100);
  EXPECT_EQ(whole.group_discount_rub, 19800);
  EXPECT_EQ(price_with_discounts(19900, 100, 0, PromoTerms{"percent", 20}).discount_rub,
            price_with_promo(19900, 100, PromoTerms{"percent", 20}).discount_rub);
  EXPECT_EQ(price_with_discounts(100, 1, 50, std::nullopt).rub, 100) << "nothing comes off 1 rouble";
}

TEST(Money, ReferralRewardsAndCashback) {
  EXPECT_EQ(referral_rewards(19900, {10, 5, 2}), (std::vector<int64_t>{1990, 995, 398}));
  EXPECT_EQ(referral_rewards(0, {10}), (std::vector<int64_t>{0}));
  EXPECT_EQ(referral_rewards(101, {10, 0}), (std::vector<int64_t>{10, 0}));
  EXPECT_EQ(cashback_points(19900, 5), 9);
  EXPECT_EQ(cashback_points(169000, 5), 84);
  EXPECT_EQ(cashback_points(19900, 0), 0);
}

TEST(Heleket, EncodesLikePhpJsonEncode) {
  nlohmann::ordered_json body;
  body["uuid"] = "abc";
  body["order_id"] = "vpnbot-1";
  body["amount"] = "199.00";
  body["status"] = "paid";
  body["url"] = "https://x.io/a/b";
  body["name"] = "Привет";
  body["extra"] = nlohmann::ordered_json::array();
  body["n"] = 5;
  std::string encoded = php_json_encode(body);
  EXPECT_EQ(encoded,
            R"({"uuid":"abc","order_id":"vpnbot-1","amount":"199.00","status":"paid","url":"https:\/\/x.io\/a\/b",)"
            R"("name":"Привет","extra":[],"n":5})");
  // Computed independently (Python: md5(base64(json) + key)).
  EXPECT_EQ(heleket_sign(encoded, "key123"), "32a205e91febcac2ce2f4eb75dc22b3d");
  nlohmann::ordered_json empty_object;
  empty_object["data"] = nlohmann::ordered_json::object();
  empty_object["quote"] = "a\"b\\c\n";
  EXPECT_EQ(php_json_encode(empty_object), R"({"data":[],"quote":"a\"b\\c\n"})")
      << "json_decode(..., true) turns {} into an array, which PHP encodes as []";
  // The emulator's own encoder and signature (written apart from the client's) meet the same vectors.
  EXPECT_EQ(emulator::php_json_encode(body), encoded);
  EXPECT_EQ(emulator::heleket_sign(encoded, "key123"), "32a205e91febcac2ce2f4eb75dc22b3d");
  EXPECT_EQ(emulator::php_json_encode(empty_object), R"({"data":[],"quote":"a\"b\\c\n"})");
  nlohmann::ordered_json braces_in_text;
  braces_in_text["t"] = "{}/\\{}";
  braces_in_text["list"] = {nlohmann::ordered_json::object(), 1};
  EXPECT_EQ(emulator::php_json_encode(braces_in_text), R"({"t":"{}\/\\{}","list":[[],1]})");
  EXPECT_EQ(emulator::php_json_encode(braces_in_text), php_json_encode(braces_in_text));
  EXPECT_EQ(emulator::kopecks("199.5"), 19950);
  EXPECT_EQ(emulator::rub_text(emulator::kopecks("7")), "7.00");
  EXPECT_THROW(emulator::kopecks("1.234"), std::invalid_argument);
  EXPECT_THROW(emulator::kopecks("-1"), std::invalid_argument);
}

TEST(Heleket, VerifiesWebhookSignOverTheRawFieldOrder) {
  nlohmann::ordered_json body;
  body["type"] = "payment";
  body["uuid"] = "u-1";
  body["order_id"] = "vpnbot-42";
  body["amount"] = "499.00";
  body["status"] = "paid";
  body["txid"] = "a/b";
  body["sign"] = heleket_sign(php_json_encode(body), "secret");
  std::string raw = php_json_encode(body);
  auto w = verify_heleket_webhook(raw, "secret");
  EXPECT_EQ(w.uuid, "u-1");
  EXPECT_EQ(w.status, "paid");
  EXPECT_EQ(w.amount, 49900);
  EXPECT_EQ(Heleket::parse_order_ref(w.order_id), 42);
  // The same content sent with unescaped slashes (as another JSON encoder would) still verifies: the signature
  // is over PHP's encoding of the decoded data, not over the bytes on the wire.
  std::string plain = nlohmann::ordered_json::parse(raw).dump();
  EXPECT_NO_THROW(verify_heleket_webhook(plain, "secret"));
  EXPECT_THROW(verify_heleket_webhook(raw, "other-key"), std::invalid_argument);
  auto forged = nlohmann::ordered_json::parse(raw);
  forged["amount"] = "1.00";
  EXPECT_THROW(verify_heleket_webhook(forged.dump(), "secret"), std::invalid_argument) << "changed amount";
  forged = nlohmann::ordered_json::parse(raw);
  forged.erase("sign");
  EXPECT_THROW(verify_heleket_webhook(forged.dump(), "secret"), std::invalid_argument) << "no sign";
  EXPECT_THROW(verify_heleket_webhook("not json", "secret"), std::invalid_argument);
  EXPECT_THROW(verify_heleket_webhook("[1,2]", "secret"), std::invalid_argument);
  EXPECT_FALSE(Heleket::parse_order_ref("vpnbot-"));
  EXPECT_FALSE(Heleket::parse_order_ref("vpnbot-12x"));
  EXPECT_FALSE(Heleket::parse_order_ref("other-12"));
}

// The signature is checked over PHP's encoding made in one pass of the raw text, before any DOM: bodies deeper or
// wider than the limits are refused as malformed whatever they carry, and "sign" must be text.
TEST(Heleket, HostileShapesAreRefusedBeforeTheSignatureAndTheSignIsLeftOutOfTheSignedText) {
  std::string deep;
  for (int i = 0; i < 500'000; ++i) deep += "[";
  try {
    verify_heleket_webhook(R"({"sign":"x","data":)" + deep, "key");
    ADD_FAILURE() << "a deep body was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "nested deeper than 48 levels");
  }
  std::string wide = "{";
  for (int i = 0; i < 100'000; ++i) wide += "\"k" + std::to_string(i) + "\":1,";
  wide += "\"sign\":\"x\"}";
  try {
    verify_heleket_webhook(wide, "key");
    ADD_FAILURE() << "a wide body was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()), "an object has more than 1000 members");
  }
  std::string sign;
  EXPECT_EQ(php_json_encode_text(R"({"a":{"sign":"inner","b":[]},"sign":"outer","c":"x/y"})", &sign),
            R"({"a":{"sign":"inner","b":[]},"c":"x\/y"})");
  EXPECT_EQ(sign, "outer") << "only the top level's sign is the signature";
  EXPECT_EQ(php_json_encode_text(R"({"sign":"s"})", &sign), "[]");
  EXPECT_EQ(php_json_encode_text(R"([{},[],1.5,-3,true,null])"), R"([[],[],1.5,-3,true,null])");
  EXPECT_THROW(verify_heleket_webhook(R"({"uuid":"u","sign":{"x":1}})", "key"), std::invalid_argument);
  EXPECT_THROW(verify_heleket_webhook(R"({"sign":"s"})", "key"), std::invalid_argument);
}

TEST(Heleket, NullCurrencyInASignedBodyReadsAsNone) {
  nlohmann::ordered_json body{{"uuid", "u-1"}, {"order_id", "vpnbot-1"}, {"status", "paid"}, {"currency", nullptr}};
  body["sign"] = billing::heleket_sign(billing::php_json_encode(body), "key");
  auto webhook = billing::verify_heleket_webhook(body.dump(), "key");
  EXPECT_EQ(webhook.currency, "");
  EXPECT_EQ(webhook.status, "paid");
}

TEST(YooKassa, ReadsNotificationsAndRefusesEverythingElse) {
  auto notice = billing::parse_yookassa_notification(
      R"({"type":"notification","event":"payment.succeeded","object":{"id":"2d3b-1","status":"succeeded"}})");
  ASSERT_TRUE(notice);
  EXPECT_EQ(notice->event, "payment.succeeded");
  EXPECT_EQ(notice->id, "2d3b-1");
  EXPECT_EQ(notice->body["object"]["status"], "succeeded");
  for (const char* bad : {"", "{broken", "[]", R"({"type":5,"event":"payment.succeeded","object":{"id":"x"}})",
                          R"({"type":"notification","event":7,"object":{"id":"x"}})",
                          R"({"type":"notification","event":"payment.succeeded","object":{"id":9}})",
                          R"({"type":"notification","event":"payment.succeeded","object":"x"})",
                          R"({"type":"notification","event":"","object":{"id":"x"}})"})
    EXPECT_FALSE(billing::parse_yookassa_notification(bad)) << bad;
  std::string long_id(65, 'a');
  EXPECT_FALSE(billing::parse_yookassa_notification(
      R"({"type":"notification","event":"payment.succeeded","object":{"id":")" + long_id + R"("}})"));
}

TEST(CryptoPay, SignatureIsHmacSha256OfTheBodyKeyedWithTheTokensSha256) {
  // Computed independently (Python's hmac with hashlib.sha256(token).digest() as the key).
  std::string body =
      R"({"update_id":1,"update_type":"invoice_paid","payload":{"invoice_id":7,"status":"paid","amount":"199.00"}})";
  EXPECT_EQ(billing::cryptopay_signature(body, "12345:AAtest"),
            "3fdd65391a486bcfd408d07cdf77f29914e7a2beb11b31606410402b94a61144");
  EXPECT_EQ(emulator::cryptopay_signature(body, "12345:AAtest"),
            "3fdd65391a486bcfd408d07cdf77f29914e7a2beb11b31606410402b94a61144");
  auto update =
      billing::verify_cryptopay_update(body, billing::cryptopay_signature(body, "12345:AAtest"), "12345:AAtest");
  EXPECT_EQ(update.update_type, "invoice_paid");
  EXPECT_EQ(update.invoice.invoice_id, 7);
  EXPECT_EQ(update.invoice.status, "paid");
  EXPECT_EQ(update.invoice.amount, "199.00");
  auto refused = [&](const std::string& text, const std::string& signature) {
    try {
      billing::verify_cryptopay_update(text, signature, "12345:AAtest");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(refused(body, billing::cryptopay_signature(body, "other")), "signature does not match");
  EXPECT_EQ(refused(body, ""), "no crypto-pay-api-signature header");
  std::string upper = billing::cryptopay_signature(body, "12345:AAtest");
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(refused(body, upper), "signature does not match") << "hex as Crypto Pay sends it: lower case";
  for (const char* bad :
       {"[]", R"({"update_type":"invoice_paid","payload":{"invoice_id":7}})",
        R"({"update_id":1,"update_type":"invoice_paid","payload":{"invoice_id":"7","status":"paid","amount":"1"}})",
        R"({"update_id":1,"update_type":"invoice_paid","payload":{"invoice_id":7,"status":null,"amount":"1"}})",
        R"({"update_id":1,"update_type":"invoice_paid"})"}) {
    std::string text = bad;
    EXPECT_NE(refused(text, billing::cryptopay_signature(text, "12345:AAtest")), "accepted") << text;
  }
}

TEST(CryptoPay, ReadsInvoicesOfEveryApiVersion) {
  auto invoice = billing::parse_cryptopay_invoice(nlohmann::json::parse(
      R"({"invoice_id":528890,"hash":"IVx","currency_type":"fiat","fiat":"RUB","amount":"199.00","status":"active",
          "bot_invoice_url":"https://t.me/CryptoBot?start=IVx","payload":"vpnbot-42","paid_asset":null})"));
  EXPECT_EQ(invoice.invoice_id, 528890);
  EXPECT_EQ(invoice.url, "https://t.me/CryptoBot?start=IVx");
  EXPECT_EQ(billing::parse_external_order_ref(invoice.payload), 42);
  EXPECT_EQ(invoice.paid_asset, "");
  auto old = billing::parse_cryptopay_invoice(nlohmann::json::parse(
      R"({"invoice_id":5,"asset":"TON","amount":"1.5","status":"paid","pay_url":"https://t.me/CryptoBot?start=IVy"})"));
  EXPECT_EQ(old.url, "https://t.me/CryptoBot?start=IVy") << "pay_url before API 1.2";
  EXPECT_THROW(
      billing::parse_cryptopay_invoice(nlohmann::json::parse(R"({"invoice_id":0,"status":"paid","amount":"1"})")),
      std::invalid_argument);
}

TEST(IpFilter, NetworksAndProxies) {
  auto yookassa = parse_networks({"185.71.76.0/27", "77.75.156.11", "2a02:5180::/32"});
  EXPECT_TRUE(any_contains(yookassa, "185.71.76.1"));
  EXPECT_TRUE(any_contains(yookassa, "185.71.76.31"));
  EXPECT_FALSE(any_contains(yookassa, "185.71.76.32"));
  EXPECT_TRUE(any_contains(yookassa, "77.75.156.11"));
  EXPECT_FALSE(any_contains(yookassa, "77.75.156.12"));
  EXPECT_TRUE(any_contains(yookassa, "::ffff:185.71.76.5")) << "IPv4-mapped IPv6 from a dual-stack socket";
  EXPECT_TRUE(any_contains(yookassa, "2a02:5180:1::7"));
  EXPECT_FALSE(any_contains(yookassa, "2a02:5181::1"));
  EXPECT_FALSE(any_contains(yookassa, "garbage"));
  EXPECT_THROW(parse_network("10.0.0.0/33"), std::invalid_argument);
  EXPECT_THROW(parse_network("10.0.0/8"), std::invalid_argument);
  EXPECT_THROW(parse_network("::/129"), std::invalid_argument);

  auto proxies = parse_networks({"127.0.0.1/32", "10.0.0.0/8"});
  EXPECT_EQ(client_address("8.8.8.8", "185.71.76.1", proxies), "8.8.8.8") << "untrusted peer: header ignored";
  EXPECT_EQ(client_address("127.0.0.1", "185.71.76.1", proxies), "185.71.76.1");
  EXPECT_EQ(client_address("127.0.0.1", "185.71.76.1, 10.1.2.3", proxies), "185.71.76.1")
      << "a chain of trusted proxies is walked from the right";
  EXPECT_EQ(client_address("127.0.0.1", "185.71.76.1, 6.6.6.6", proxies), "6.6.6.6")
      << "a client-supplied first hop cannot hide the real client";
  EXPECT_EQ(client_address("127.0.0.1", "", proxies), "127.0.0.1");
}

TEST(BillingConfig, ValidatesKeys) {
  auto load = [](std::map<std::string, std::string> env) {
    env["VPNBOT_DATABASE_URL"] = "postgresql:///x";
    return load_config(std::nullopt, env);
  };
  auto c = load({{"VPNBOT_REFERRAL_PERCENTS", "20,10"}, {"VPNBOT_PAYMENT_METHODS", "stars,yookassa"}});
  EXPECT_EQ(c.billing.referral_percents, (std::vector<int>{20, 10}));
  EXPECT_EQ(c.billing.enabled_payment_methods(), (std::vector<std::string>{"stars"})) << "yookassa has no credentials";
  c = load({{"VPNBOT_YOOKASSA_SHOP_ID", "1"}, {"VPNBOT_YOOKASSA_SECRET_KEY", "s"}});
  EXPECT_EQ(c.billing.enabled_payment_methods(), (std::vector<std::string>{"yookassa", "stars", "balance"}));
  EXPECT_THROW(load({{"VPNBOT_REFERRAL_PERCENTS", "10,101"}}), ConfigError);
  EXPECT_THROW(load({{"VPNBOT_PAYMENT_METHODS", "paypal"}}), ConfigError);
  EXPECT_THROW(load({{"VPNBOT_YOOKASSA_ALLOWED_IPS", "1.2.3.4/40"}}), ConfigError);
  EXPECT_THROW(load({{"VPNBOT_YOOKASSA_API_URL", "ftp://x"}}), ConfigError);
  EXPECT_THROW(load({{"VPNBOT_TRIAL_DAYS", "-1"}}), ConfigError);
}
