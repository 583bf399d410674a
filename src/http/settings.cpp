#include "http/settings.hpp"

#include "core/ip_network.hpp"

namespace vpnbot::http {

void check_url(const ConfigValue& value, const std::string& url) {
  if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    value.fail("must start with http:// or https://");
}

void declare_networks(ConfigSchema& schema, std::string key, std::vector<std::string>& field, std::string default_text,
                      std::string description) {
  schema.add(std::move(key), "list", std::move(default_text), false, std::move(description),
             [&field](const ConfigValue& v) {
               auto items = v.as_list();
               for (const auto& item : items) {
                 try {
                   parse_network(item);
                 } catch (const std::invalid_argument& e) {
                   v.fail(e.what());
                 }
               }
               field = items;
             });
}

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.add("http_listen", "host:port", "127.0.0.1:8080", false, "Address of the HTTP server.",
             [&s](const ConfigValue& v) { s.listen = parse_host_port(v.source(), v.as_string()); });
  schema.add("health_listen", "host:port", "", false,
             "The internal listener of every role: /healthz, /readyz and /metrics (container healthchecks, "
             "Prometheus). Never publish it; the gateway's http_listen serves only webhooks and /healthz. Empty: not "
             "served.",
             [&s](const ConfigValue& v) {
               std::string value = v.as_string();
               if (value.empty())
                 s.health_listen.reset();
               else
                 s.health_listen = parse_host_port(v.source(), value);
             });
  schema.integer("http_body_limit_bytes", s.body_limit_bytes, 1024, 64 << 20,
                 "Max request body; larger requests get 413.");
  schema.integer("http_read_timeout_ms", s.read_timeout_ms, 100, 600000,
                 "Max time to read one request once it started.");
  schema.integer("http_max_connections", s.max_connections, 16, 100000,
                 "Open connections the public listener keeps at most; beyond it a new connection evicts the one idle "
                 "longest (or is closed at once when all are busy).");
  schema.integer("http_idle_timeout_ms", s.idle_timeout_ms, 100, 3600000,
                 "Keep-alive connections idle longer than this are closed.");
  schema.integer("http_shutdown_grace_ms", s.shutdown_grace_ms, 0, 600000,
                 "On SIGTERM, how long the process's components together may take to finish what is in flight "
                 "(requests, jobs, updates, messages); calls already on the wire then end within their own deadlines.");
  schema.string("http_proxy", s.proxy, false, "Proxy for outbound HTTP (http://, https://, socks5://, socks5h://).",
                [](const ConfigValue& v, const std::string& proxy) {
                  if (proxy.empty()) return;
                  for (const char* scheme : {"http://", "https://", "socks5://", "socks5h://", "socks4://"})
                    if (proxy.rfind(scheme, 0) == 0) return;
                  v.fail("must start with http://, https://, socks4://, socks5:// or socks5h://");
                });
  schema.integer("http_client_timeout_ms", s.client_timeout_ms, 100, 600000,
                 "Default total timeout of an outbound HTTP request.");
  schema.integer("http_client_max_connections", s.client_max_connections, 1, 10000,
                 "Max simultaneous outbound connections.");
  schema.string("public_url", s.public_url, false,
                "Public https URL of the gateway (webhooks are registered under it).",
                [](const ConfigValue& v, const std::string& url) {
                  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
                    v.fail("must start with https:// (or http:// for local tests)");
                });
  declare_networks(schema, "trusted_proxies", s.trusted_proxies, "",
                   "Reverse proxies whose X-Forwarded-For is believed for the client address.");
}

}  // namespace vpnbot::http
