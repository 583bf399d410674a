#include "billing/yookassa/settings.hpp"

#include "http/settings.hpp"

namespace vpnbot::billing {

void declare_settings(ConfigSchema& schema, YooKassaSettings& s) {
  schema.string("yookassa_api_url", s.api_url, false, "YooKassa API base URL (the emulator's in the sandbox).",
                http::check_url);
  schema.string("yookassa_shop_id", s.shop_id, false, "YooKassa shopId.");
  schema.string("yookassa_secret_key", s.secret_key, false, "YooKassa secret key.");
  schema.string("yookassa_return_url", s.return_url, false,
                "Where YooKassa's checkout returns the user (e.g. https://t.me/YourBot).", http::check_url);
  schema.integer("yookassa_vat_code", s.vat_code, 0, 12,
                 "When > 0, payments carry 54-FZ receipt data with this VAT code.");
  schema.string("yookassa_receipt_email", s.receipt_email, false,
                "Customer e-mail put on 54-FZ receipts (required with yookassa_vat_code).");
  schema.boolean("yookassa_save_cards", s.save_cards,
                 "Offer to save the card at checkout and charge it for auto-renewal (YooKassa autopayments; "
                 "YooKassa enables them for a live shop on request).");
  http::declare_networks(schema, "yookassa_allowed_ips", s.allowed_ips, "YooKassa's published ranges",
                         "Addresses/networks YooKassa notifications may come from (they are unsigned).");
}

}  // namespace vpnbot::billing
