// HTTP server (limits, timeouts, graceful shutdown) and the curl-multi client, talking to each other.
#include <gtest/gtest.h>

#include "core/event.hpp"
#include "http/client.hpp"
#include "http/server.hpp"

using namespace vpnbot;
using namespace vpnbot::http;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add(bhttp::verb::get, "/hello", [](Request& r) -> awaitable<Response> {
      co_return json_response(bhttp::status::ok, {{"hello", r.header("X-Name")}, {"id", r.request_id}});
    });
    router.add(bhttp::verb::get, "/forwarded", [](Request& r) -> awaitable<Response> {
      co_return make_response(bhttp::status::ok, r.header_list("X-Forwarded-For"));
    });
    router.add(bhttp::verb::post, "/echo", [](Request& r) -> awaitable<Response> {
      co_return make_response(bhttp::status::ok, r.message.body(), "application/octet-stream");
    });
    router.add(bhttp::verb::get, "/slow", [this](Request&) -> awaitable<Response> {
      ++slow_started;
      co_await sleep_for(Millis(500));
      co_return make_response(bhttp::status::ok, "finished");
    });
    router.add(bhttp::verb::get, "/throws", [](Request&) -> awaitable<Response> {
      throw std::runtime_error("handler bug");
      co_return make_response(bhttp::status::ok, "");
    });
    // A forward proxy sees absolute-form targets: this route proves the client really used the proxy.
    router.add(bhttp::verb::get, "http://upstream.invalid/via-proxy",
               [](Request&) -> awaitable<Response> { co_return make_response(bhttp::status::ok, "proxied"); });
    server = std::make_unique<Server>(io.get_executor(),
                                      ServerOptions{{"127.0.0.1", 0}, 64 * 1024, Millis(300), Millis(1000)}, router);
    server->start();
    base = "http://127.0.0.1:" + std::to_string(server->port());
    client = std::make_unique<Client>(io.get_executor(), ClientOptions{});
  }

  template <typename T>
  T run(awaitable<T> task) {
    std::optional<T> value;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T v) {
      error = e;
      if (!e) value = std::move(v);
    });
    auto until = Clock::now() + Millis(20000);
    while (!value && !error && Clock::now() < until) {
      if (io.stopped()) io.restart();  // an io_context that ran out of work stays stopped until restarted
      io.run_one_for(Millis(50));
    }
    if (error) std::rethrow_exception(error);
    if (!value) throw std::runtime_error("timed out");
    return std::move(*value);
  }
  ClientResponse get(const std::string& path, Millis timeout = Millis(0)) {
    return run(client->send({.url = base + path, .timeout = timeout}));
  }

  asio::io_context io{1};
  Router router;
  std::unique_ptr<Server> server;
  std::unique_ptr<Client> client;
  std::string base;
  int slow_started = 0;
};

TEST_F(HttpTest, RoutesMethodsAndRequestIds) {
  auto r = run(client->send({.url = base + "/hello", .headers = {{"X-Name", "vpn"}, {"X-Request-Id", "abc-123"}}}));
  EXPECT_EQ(r.status, 200);
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["hello"], "vpn");
  EXPECT_EQ(body["id"], "abc-123");
  EXPECT_EQ(r.header("x-request-id"), "abc-123");
  // A hostile request id is replaced, not logged verbatim.
  auto r2 = run(client->send({.url = base + "/hello", .headers = {{"X-Request-Id", "<script>"}}}));
  EXPECT_NE(r2.header("x-request-id"), "<script>");
  EXPECT_EQ(r2.header("x-request-id").size(), 16u);
  EXPECT_EQ(get("/missing").status, 404);
  auto wrong = run(client->send({.method = "POST", .url = base + "/hello", .body = "x"}));
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("allow"), "GET");
  EXPECT_EQ(get("/throws").status, 500);
}

TEST_F(HttpTest, BodyUpToLimitAcceptedAboveRejected) {
  std::string ok_body(60 * 1024, 'a');
  auto ok = run(client->send({.method = "POST", .url = base + "/echo", .body = ok_body}));
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, ok_body);
  auto big = run(client->send({.method = "POST", .url = base + "/echo", .body = std::string(200 * 1024, 'b')}));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(server->stats().rejected_too_large, 1u);
}

TEST_F(HttpTest, MultipartUpload) {
  router.add(bhttp::verb::post, "/upload", [](Request& r) -> awaitable<Response> {
    const auto& b = r.message.body();
    bool has_file = b.find("filename=\"wg0.conf\"") != std::string::npos && b.find("[Interface]") != std::string::npos;
    co_return make_response(has_file ? bhttp::status::ok : bhttp::status::bad_request, "");
  });
  auto r =
      run(client->send({.method = "POST",
                        .url = base + "/upload",
                        .multipart = {{"chat_id", "1"}, {"document", "[Interface]\n", "wg0.conf", "text/plain"}}}));
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpTest, SlowClientIsCutOffByReadTimeout) {
  asio::ip::tcp::socket sock(io);
  sock.connect({asio::ip::make_address("127.0.0.1"), server->port()});
  std::string partial = "GET /hello HTTP/1.1\r\nHost: x\r\n";  // headers never finish
  asio::write(sock, asio::buffer(partial));
  auto started = Clock::now();
  bool closed = run([&]() -> awaitable<bool> {
    char buf[256];
    boost::system::error_code ec;
    co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    co_return ec == asio::error::eof || ec == asio::error::connection_reset;
  }());
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - started, Millis(3000));
  EXPECT_EQ(server->stats().timeouts, 1u);
}

TEST_F(HttpTest, ClientTimeoutAndConnectionRefused) {
  try {
    get("/slow", Millis(150));
    FAIL() << "expected a timeout";
  } catch (const TransportError& e) {
    EXPECT_TRUE(e.timed_out()) << e.what();
  }
  asio::ip::tcp::acceptor unused(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto closed_port = unused.local_endpoint().port();
  unused.close();
  EXPECT_THROW(run(client->send({.url = "http://127.0.0.1:" + std::to_string(closed_port) + "/"})), TransportError);
}

// A proxy that adds its own X-Forwarded-For line after the client's forged one: both are read, in order, so the
// rightmost-untrusted rule sees the proxy's hop last.
TEST_F(HttpTest, RepeatedHeaderLinesAreReadAsOneListInOrder) {
  auto r =
      run(client->send({.url = base + "/forwarded",
                        .headers = {{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "185.71.76.1, 10.0.0.2"}}}));
  EXPECT_EQ(r.body, "6.6.6.6, 185.71.76.1, 10.0.0.2");
  EXPECT_EQ(get("/forwarded").body, "");
}

// Request paths carry secrets (the Bot API's /bot<token>/): no transport error names more than the origin.
TEST_F(HttpTest, TransportErrorsNameTheOriginNeverThePath) {
  const std::string secret_path = "/bot123456:SECRET-TOKEN/sendMessage";
  std::vector<std::string> texts;
  // Never answered: a listener nobody accepts on (the kernel completes the connection), so the call times out.
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  try {
    run(client->send({.url = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + secret_path,
                      .timeout = Millis(150)}));
  } catch (const TransportError& e) {
    EXPECT_TRUE(e.timed_out()) << e.what();
    texts.push_back(e.what());
  }
  asio::ip::tcp::acceptor unused(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto closed_port = unused.local_endpoint().port();
  unused.close();
  try {
    run(client->send({.url = "http://127.0.0.1:" + std::to_string(closed_port) + secret_path}));
  } catch (const TransportError& e) {
    texts.push_back(e.what());
  }
  try {
    run(client->send({.url = "http://bad host" + secret_path}));
  } catch (const TransportError& e) {
    texts.push_back(e.what());
  }
  ASSERT_EQ(texts.size(), 3u) << "each request failed";
  for (const auto& text : texts) {
    EXPECT_EQ(text.find("SECRET-TOKEN"), std::string::npos) << text;
    EXPECT_NE(text.find("http://"), std::string::npos) << "still names where it went: " << text;
  }
}

TEST_F(HttpTest, ManyConcurrentRequestsReuseConnections) {
  int ok = 0;
  run([&]() -> awaitable<int> {
    auto ex = co_await asio::this_coro::executor;
    Event done(ex);
    int finished = 0;
    for (int i = 0; i < 200; ++i)
      asio::co_spawn(ex, client->send({.url = base + "/hello"}), [&](std::exception_ptr e, ClientResponse r) {
        if (!e && r.status == 200) ++ok;
        if (++finished == 200) done.notify();
      });
    co_await done.wait_for(Millis(15000));
    co_return finished;
  }());
  EXPECT_EQ(ok, 200);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(get("/hello").status, 200);
  EXPECT_EQ(server->stats().requests, 220u);
}

TEST_F(HttpTest, ProxySettingRoutesRequestsThroughTheProxy) {
  Client proxied(io.get_executor(), ClientOptions{.proxy = base});
  auto r = run(proxied.send({.url = "http://upstream.invalid/via-proxy"}));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "proxied");
}

TEST_F(HttpTest, GracefulShutdownFinishesInFlightRequests) {
  std::optional<ClientResponse> slow;
  std::exception_ptr slow_error;
  asio::co_spawn(io, client->send({.url = base + "/slow"}), [&](std::exception_ptr e, ClientResponse r) {
    slow_error = e;
    if (!e) slow = std::move(r);
  });
  run([&]() -> awaitable<int> {
    while (slow_started == 0) co_await sleep_for(Millis(5));
    co_await server->shutdown(Millis(3000));  // returns only after the in-flight request completed
    co_return 0;
  }());
  if (slow_error) std::rethrow_exception(slow_error);
  for (int i = 0; i < 100 && !slow; ++i) {
    if (io.stopped()) io.restart();
    io.run_one_for(Millis(20));
  }
  ASSERT_TRUE(slow.has_value());
  EXPECT_EQ(slow->status, 200);
  EXPECT_EQ(slow->body, "finished");
  // No longer accepting.
  EXPECT_THROW(get("/hello", Millis(1000)), TransportError);
}
