#include "http/client.hpp"

#include <algorithm>

#include "core/log.hpp"
#include "http/url.hpp"

namespace vpnbot::http {

struct Client::Socket {
  explicit Socket(asio::any_io_executor ex) : descriptor(ex) {}
  asio::posix::stream_descriptor descriptor;
  curl_socket_t fd = -1;
  int what = 0;  // CURL_POLL_* curl currently wants
  bool read_pending = false;
  bool write_pending = false;
  bool removed = false;
};

struct Client::Transfer {
  explicit Transfer(asio::any_io_executor ex) : done(ex) {}
  ~Transfer() {
    if (easy) curl_easy_cleanup(easy);
    if (headers) curl_slist_free_all(headers);
    if (mime) curl_mime_free(mime);
  }
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  curl_mime* mime = nullptr;
  ClientRequest request;
  ClientResponse response;
  CURLcode result = CURLE_OK;
  char error[CURL_ERROR_SIZE] = {};
  size_t max_response_bytes = 0;
  bool body_too_large = false;
  bool completed = false;
  bool cancelled = false;
  Event done;
};

size_t Client::write_body(char* data, size_t size, size_t n, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  if (transfer->response.body.size() + size * n > transfer->max_response_bytes) {
    transfer->body_too_large = true;
    return 0;  // curl stops the transfer with CURLE_WRITE_ERROR
  }
  transfer->response.body.append(data, size * n);
  return size * n;
}

namespace {

size_t write_header(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::multimap<std::string, std::string>*>(user);
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    headers->emplace(std::move(name), std::string(value));
  } else if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after a redirect or 100-continue) starts
  }
  return size * n;
}

}  // namespace

std::string ClientResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

Client::Client(asio::any_io_executor ex, ClientOptions options)
    : ex_(ex), options_(std::move(options)), multi_(curl_multi_init()), timer_(ex) {
  if (!multi_) throw std::runtime_error("http client: curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Client::on_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Client::on_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options_.max_connections));
}

Client::~Client() {
  for (auto& [fd, s] : sockets_) {
    s->removed = true;
    if (s->descriptor.is_open()) s->descriptor.release();
  }
  curl_multi_cleanup(multi_);
}

int Client::on_socket(CURL*, curl_socket_t fd, int what, void* self_ptr, void*) {
  auto* self = static_cast<Client*>(self_ptr);
  if (what == CURL_POLL_REMOVE) {
    auto it = self->sockets_.find(fd);
    if (it != self->sockets_.end()) {
      it->second->removed = true;
      if (it->second->descriptor.is_open()) it->second->descriptor.release();  // curl closes the fd itself
      self->sockets_.erase(it);
    }
    return 0;
  }
  auto& socket = self->sockets_[fd];
  if (!socket) {
    socket = std::make_shared<Socket>(self->ex_);
    socket->fd = fd;
    boost::system::error_code ec;
    socket->descriptor.assign(fd, ec);
    if (ec) log::error("http", "cannot watch curl socket", {{"error", ec.message()}});
  }
  socket->what = what;
  self->arm(socket);
  return 0;
}

int Client::on_timer(CURLM*, long timeout_ms, void* self_ptr) {
  auto* self = static_cast<Client*>(self_ptr);
  if (timeout_ms < 0) {
    self->timer_.cancel();
    return 0;
  }
  // Never call back into curl from inside its callback: the timer fires from the event loop.
  self->timer_.expires_after(Millis(timeout_ms));
  self->timer_.async_wait([self](boost::system::error_code ec) {
    if (ec) return;
    self->socket_action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void Client::arm(const std::shared_ptr<Socket>& socket) {
  if (socket->removed || !socket->descriptor.is_open()) return;
  // One readiness wait at a time per direction curl asked for; when it fires, curl is told and the socket re-armed.
  struct Direction {
    int curl_poll;
    bool Socket::*pending;
    asio::posix::stream_descriptor::wait_type wait;
    int curl_select;
  };
  static constexpr Direction kDirections[] = {
      {CURL_POLL_IN, &Socket::read_pending, asio::posix::stream_descriptor::wait_read, CURL_CSELECT_IN},
      {CURL_POLL_OUT, &Socket::write_pending, asio::posix::stream_descriptor::wait_write, CURL_CSELECT_OUT}};
  for (const Direction& direction : kDirections) {
    if (!(socket->what & direction.curl_poll) || (*socket).*direction.pending) continue;
    (*socket).*direction.pending = true;
    socket->descriptor.async_wait(direction.wait, [this, socket, direction](boost::system::error_code ec) {
      (*socket).*direction.pending = false;
      if (ec || socket->removed) return;
      socket_action(socket->fd, direction.curl_select);
      arm(socket);
    });
  }
}

void Client::socket_action(curl_socket_t fd, int events) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, events, &running);
  collect_finished();
}

void Client::collect_finished() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* transfer = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &transfer);
    transfer->result = msg->data.result;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &transfer->response.status);
    curl_multi_remove_handle(multi_, msg->easy_handle);
    transfer->completed = true;
    transfer->done.notify();
  }
}

awaitable<ClientResponse> Client::send(ClientRequest request) {
  auto transfer = std::make_unique<Transfer>(ex_);
  transfer->request = std::move(request);
  auto& r = transfer->request;
  CURL* easy = transfer->easy = curl_easy_init();
  if (!easy) throw TransportError("http client: curl_easy_init failed", CURLE_FAILED_INIT);
  Millis timeout = r.timeout.count() > 0 ? r.timeout : options_.default_timeout;
  curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(timeout, options_.connect_timeout).count()));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
  transfer->max_response_bytes = options_.max_response_bytes;
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Client::write_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &write_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer->response.headers);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!options_.proxy.empty()) curl_easy_setopt(easy, CURLOPT_PROXY, options_.proxy.c_str());
  for (const auto& [name, value] : r.headers)
    transfer->headers = curl_slist_append(transfer->headers, (name + ": " + value).c_str());
  // Large bodies would otherwise wait a round trip for "100 Continue".
  transfer->headers = curl_slist_append(transfer->headers, "Expect:");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
  if (!r.multipart.empty()) {
    transfer->mime = curl_mime_init(easy);
    for (const auto& part : r.multipart) {
      curl_mimepart* p = curl_mime_addpart(transfer->mime);
      curl_mime_name(p, part.name.c_str());
      curl_mime_data(p, part.data.data(), part.data.size());
      if (!part.filename.empty()) curl_mime_filename(p, part.filename.c_str());
      if (!part.content_type.empty()) curl_mime_type(p, part.content_type.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_MIMEPOST, transfer->mime);
  } else if (r.method != "GET" && r.method != "HEAD") {
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
  }
  if (r.method == "HEAD") curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  if (r.method != "GET" && r.method != "POST" && r.method != "HEAD")
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());

  // Errors name the request by method and origin only: the path may hold a token.
  const std::string where = r.method + " " + url_origin(r.url);
  CURLMcode added = curl_multi_add_handle(multi_, easy);
  if (added != CURLM_OK)
    throw TransportError(std::string("http client: ") + curl_multi_strerror(added), CURLE_FAILED_INIT);
  if (r.cancel) {
    if (r.cancel->cancelled()) {
      curl_multi_remove_handle(multi_, easy);
      throw TransportError("http client: " + where + " cancelled", CURLE_ABORTED_BY_CALLBACK);
    }
    r.cancel->on_cancel([t = transfer.get()] {
      t->cancelled = true;
      t->done.notify();
    });
  }
  // curl enforces the timeout; our own deadline is a backstop so this wait can never hang.
  bool finished = co_await transfer->done.wait_for(timeout + Millis(2000));
  if (r.cancel) r.cancel->clear();
  if (!transfer->completed) {
    curl_multi_remove_handle(multi_, easy);
    if (finished && transfer->cancelled)
      throw TransportError("http client: " + where + " cancelled", CURLE_ABORTED_BY_CALLBACK);
    throw TransportError("http client: " + where + " timed out", CURLE_OPERATION_TIMEDOUT);
  }
  if (transfer->body_too_large)
    throw TransportError(
        "http client: " + where + ": response body over " + std::to_string(transfer->max_response_bytes) + " bytes",
        CURLE_FILESIZE_EXCEEDED);
  if (transfer->result != CURLE_OK) {
    std::string detail = transfer->error[0] ? transfer->error : curl_easy_strerror(transfer->result);
    // curl's own text may quote the URL it was given (a malformed one): never its path.
    const std::string origin = url_origin(r.url);
    for (auto at = detail.find(r.url); at != std::string::npos; at = detail.find(r.url, at + origin.size()))
      detail.replace(at, r.url.size(), origin);
    throw TransportError("http client: " + where + ": " + detail, transfer->result);
  }
  co_return std::move(transfer->response);
}

}  // namespace vpnbot::http
