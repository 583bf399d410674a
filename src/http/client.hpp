#pragma once
#include <curl/curl.h>

#include <map>
#include <stdexcept>

#include "core/asio.hpp"
#include "core/cancellation.hpp"
#include "core/event.hpp"

namespace vpnbot::http {

struct MultipartPart {
  std::string name;
  std::string data;
  std::string filename;      // set for file uploads
  std::string content_type;  // optional
};

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<MultipartPart> multipart;  // when non-empty, sent as multipart/form-data instead of body
  Millis timeout{0};                     // 0 = the client's default
  // Cancelling abandons the transfer at once (TransportError with cancelled() true): a long poll must not hold up
  // a shutdown. Not owned; must outlive the call.
  Cancellation* cancel = nullptr;
};

struct ClientResponse {
  long status = 0;
  std::string body;
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string header(const std::string& lower_name) const;
};

// The request never produced an HTTP response (DNS, connect, TLS, timeout, proxy...).
class TransportError : public std::runtime_error {
 public:
  TransportError(const std::string& what, CURLcode code) : std::runtime_error(what), code_(code) {}
  CURLcode code() const { return code_; }
  bool timed_out() const { return code_ == CURLE_OPERATION_TIMEDOUT; }
  bool cancelled() const { return code_ == CURLE_ABORTED_BY_CALLBACK; }
  bool too_large() const { return code_ == CURLE_FILESIZE_EXCEEDED; }

 private:
  CURLcode code_;
};

struct ClientOptions {
  std::string proxy;  // http://, https://, socks5://, socks5h://
  Millis default_timeout{30000};
  Millis connect_timeout{10000};
  int max_connections = 64;
  // A response body larger than this fails the call (a misbehaving or hostile server cannot exhaust memory).
  size_t max_response_bytes = 16 * 1024 * 1024;
  std::string user_agent = "vpnbot/" VPNBOT_VERSION;
};

// Outbound HTTP over libcurl's multi interface driven by Asio: many transfers on the event loop, no
// blocking, connection reuse, TLS verification on, per-request deadlines, optional proxy.
class Client {
 public:
  Client(asio::any_io_executor ex, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  awaitable<ClientResponse> send(ClientRequest request);

 private:
  struct Transfer;
  struct Socket;
  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_ptr);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  static size_t write_body(char* data, size_t size, size_t n, void* transfer);
  void arm(const std::shared_ptr<Socket>& socket);
  void socket_action(curl_socket_t fd, int events);
  void collect_finished();

  asio::any_io_executor ex_;
  ClientOptions options_;
  CURLM* multi_;
  asio::steady_timer timer_;
  std::map<curl_socket_t, std::shared_ptr<Socket>> sockets_;
};

}  // namespace vpnbot::http
