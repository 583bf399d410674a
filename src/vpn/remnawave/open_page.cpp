#include "vpn/remnawave/open_page.hpp"

#include <charconv>
#include <stdexcept>

#include "core/encoding.hpp"

namespace vpnbot::remnawave {

namespace {

bool plain_http_link(const std::string& url) {
  if (url.size() > 2048 || (url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0)) return false;
  for (unsigned char c : url)
    if (c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '\\' || c >= 0x7f) return false;
  return true;
}

http::Response refuse(const std::string& why) {
  return http::make_response(http::bhttp::status::bad_request, why);
}

}  // namespace

void add_open_app_route(http::Router& router, std::vector<ClientApp> apps, std::string key) {
  router.add_prefix(http::bhttp::verb::get, "/open/", [apps, key](http::Request& request) -> awaitable<http::Response> {
    std::string_view path = request.path();
    std::string_view index_text = path.substr(std::string_view("/open/").size());
    size_t index = 0;
    auto [end, ec] = std::from_chars(index_text.data(), index_text.data() + index_text.size(), index);
    if (ec != std::errc() || end != index_text.data() + index_text.size() || index >= apps.size())
      co_return refuse("unknown app");
    std::string_view target_text = request.target();
    auto query = target_text.find("?s=");
    auto link_at = target_text.find("&u=");
    if (query == std::string_view::npos || link_at == std::string_view::npos || link_at < query)
      co_return refuse("bad link");
    std::string_view signature = target_text.substr(query + 3, link_at - query - 3);
    std::string link;
    try {
      link = url_decode(target_text.substr(link_at + 3));
    } catch (const std::invalid_argument&) {
      co_return refuse("bad link");
    }
    if (!plain_http_link(link) || !constant_time_equal(signature, open_page_signature(key, index, link)))
      co_return refuse("bad link");
    std::string target = apps[index].link_template;
    target.replace(target.find("{url}"), 5, link);
    std::string escaped = html_escape(target), name = html_escape(apps[index].name);
    std::string page =
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
        "content=\"width=device-width\"><meta http-equiv=\"refresh\" content=\"0;url=" +
        escaped + "\"><title>" + name + "</title></head><body><p><a href=\"" + escaped + "\">Open in " + name +
        "</a></p><p>Or copy the link into the app: <code>" + html_escape(link) + "</code></p></body></html>";
    auto response = http::make_response(http::bhttp::status::ok, std::move(page), "text/html; charset=utf-8");
    response.set("Referrer-Policy", "no-referrer");
    response.set("Cache-Control", "no-store");
    co_return response;
  });
}

}  // namespace vpnbot::remnawave
