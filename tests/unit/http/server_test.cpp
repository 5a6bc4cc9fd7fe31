#include "morgana/http/server.h"

#include <gtest/gtest.h>

#include <string>

#include "counters.h"
#include "http_client_driver.h"
#include "memory_stream.h"
#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/http/date.h"
#include "morgana/http/router.h"
#include "sim.h"
#include "tcp_peer.h"

namespace morgana::http {
namespace {

using test::ReceivedResponse;
using test::TestClient;

using test_support::counter_value;

class HttpServerTest : public ::testing::Test {
protected:
  void SetUp() override {
    sim::reset();
    m_router.add("GET", "/hello", [](Request&) -> Task<Response> { co_return Response::text(Status::ok, "hi\n"); });
    m_router.add("GET", "/path", [](Request& request) -> Task<Response> {
      co_return Response::text(Status::ok, request.path + "?" + std::string(request.query));
    });
    m_router.add("POST", "/echo",
                 [](Request& request) -> Task<Response> { co_return Response::text(Status::ok, request.body_text()); });
    m_router.add("PUT", "/hello", [](Request&) -> Task<Response> { co_return Response::error(Status::no_content); });
    m_router.add_prefix("GET", "/files/", [](Request& request) -> Task<Response> {
      co_return Response::text(Status::ok, "file " + request.path);
    });
    m_router.add("GET", "/unsafe", [](Request&) -> Task<Response> {
      auto response = Response::text(Status::ok, "x");
      response.headers.add("X-Split", "a\r\nSet-Cookie: evil=1");
      co_return response;
    });
  }
  void TearDown() override { loop().destroy_spawned(); }

  TestClient connect(Server& server) {
    auto pair = morgana::test::make_stream_pair();
    server.accept(std::move(pair.server));
    return TestClient(std::move(pair.client));
  }

  Router m_router;
};

Task<Result<ReceivedResponse>> exchange(TestClient& client, std::string request, std::string_view method = "GET") {
  CO_TRY(co_await client.send(std::move(request)));
  co_return co_await client.receive(method);
}

TEST_F(HttpServerTest, KeepsTheConnectionAliveAcrossRequests) {
  Server server(m_router.handler());
  auto client = connect(server);
  auto before = counter_value("http.requests");
  auto first = loop().run(exchange(client, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, Status::ok);
  EXPECT_EQ(first->body, "hi\n");
  EXPECT_EQ(first->headers.get("Content-Length"), "3");
  EXPECT_EQ(first->headers.get("Server"), "Morgana");
  EXPECT_EQ(first->headers.get("Date"), format_http_date(WallClock::now()));
  EXPECT_FALSE(first->headers.contains("Connection"));
  auto second = loop().run(exchange(client, "GET /path?q=1 HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "/path?q=1");
  EXPECT_EQ(counter_value("http.requests"), before + 2);
  EXPECT_EQ(server.active_connections(), 1u);
}

TEST_F(HttpServerTest, AnswersPipelinedRequestsInOrder) {
  Server server(m_router.handler());
  auto client = connect(server);
  auto responses = loop().run([](TestClient& c) -> Task<Result<std::string>> {
    CO_TRY(co_await c.send("GET /path?1 HTTP/1.1\r\nHost: a\r\n\r\n"
                           "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody"
                           "GET /path?3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
    std::string all;
    for (int i = 0; i < 3; ++i) all += CO_TRY(co_await c.receive()).body + "|";
    auto end = co_await c.receive();
    if (end || end.error() != Errc::closed) co_return fail(Errc::malformed, "not closed");
    co_return all;
  }(client));
  ASSERT_TRUE(responses) << responses.error().context;
  EXPECT_EQ(*responses, "/path?1|body|/path?3|");
}

TEST_F(HttpServerTest, ConnectionCloseEndsTheConnection) {
  Server server(m_router.handler());
  auto client = connect(server);
  auto response = loop().run(exchange(client, "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->headers.get("Connection"), "close");
  EXPECT_EQ(loop().run(client.receive()).error(), Errc::closed);
}

// Over Morgana's TCP, with a peer like QEMU's slirp (no window scaling, SACK or
// timestamps), a response that closes the connection and the FIN leave in one
// segment (FIN|PSH|ACK with the response), with no FIN of its own after it and
// no window update before it.
TEST(HttpServerOverTcp, AClosingResponseCarriesTheFin) {
  using namespace net::tcp_test;
  TcpPeer peer;
  auto stream = peer.establish(PeerOptions{1460, std::nullopt, false, false}); // as slirp
  ASSERT_TRUE(stream);
  Router router;
  router.add("GET", "/hello", [](Request&) -> Task<Response> { co_return Response::text(Status::ok, "hi\n"); });
  Server server(router.handler());
  server.accept(std::move(stream));
  std::string_view request = "GET /hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
  peer.send_now(net::tcp_flag::ack | net::tcp_flag::psh, as_bytes(request));
  auto sent = peer.take_noted(); // no pure ACK or window update before it either
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(net::tcp_flag::fin | net::tcp_flag::psh | net::tcp_flag::ack));
  std::string response(reinterpret_cast<const char*>(sent[0].payload.data()), sent[0].payload.size());
  EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(response.ends_with("Connection: close\r\n\r\nhi\n"));
  EXPECT_EQ(peer.tcp().count_in_state(net::TcpState::fin_wait_1), 1u);
}

TEST_F(HttpServerTest, Http10KeepsAliveOnlyWhenAsked) {
  Server server(m_router.handler());
  auto client = connect(server);
  auto kept = loop().run(exchange(client, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->headers.get("Connection"), "keep-alive");
  auto closing = loop().run(exchange(client, "GET /hello HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(closing);
  EXPECT_EQ(closing->headers.get("Connection"), "close");
  EXPECT_EQ(loop().run(client.receive()).error(), Errc::closed);
}

TEST_F(HttpServerTest, HeadSendsTheHeadersOfGetWithoutTheBody) {
  Server server(m_router.handler());
  auto client = connect(server);
  auto response = loop().run(exchange(client, "HEAD /hello HTTP/1.1\r\nHost: a\r\n\r\n", "HEAD"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->headers.get("Content-Length"), "3");
  EXPECT_EQ(response->body, "");
  // The next response parses right after: no stray body bytes were sent.
  auto next = loop().run(exchange(client, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "hi\n");
}

TEST_F(HttpServerTest, RoutesTo404And405AndOptions) {
  Server server(m_router.handler());
  auto client = connect(server);
  auto missing = loop().run(exchange(client, "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, Status::not_found);
  auto wrong_method = loop().run(exchange(client, "DELETE /hello HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, Status::method_not_allowed);
  EXPECT_EQ(wrong_method->headers.get("Allow"), "GET, HEAD, PUT, OPTIONS");
  auto options = loop().run(exchange(client, "OPTIONS /hello HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(options);
  EXPECT_EQ(options->status, Status::no_content);
  EXPECT_EQ(options->headers.get("Allow"), "GET, HEAD, PUT, OPTIONS");
  auto prefixed = loop().run(exchange(client, "GET /files/a/../b HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(prefixed);
  EXPECT_EQ(prefixed->body, "file /files/b");
}

struct RejectCase {
  std::string request;
  Status status;
  std::string_view counter;
};

TEST_F(HttpServerTest, RejectsBadRequestsWithTheirStatusAndCloses) {
  ServerOptions options;
  options.limits.max_start_line = 100;
  options.limits.max_header_section = 200;
  options.limits.max_body = 10;
  Server server(m_router.handler(), options);
  std::vector<RejectCase> cases{
      {"GET / HTTP/1.1\r\n\r\n", Status::bad_request, "http.bad_request"},
      {"GET /" + std::string(200, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", Status::uri_too_long, "http.uri_too_long"},
      {"GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(300, 'x') + "\r\n\r\n", Status::request_header_fields_too_large,
       "http.header_fields_too_large"},
      {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n01234567890", Status::content_too_large,
       "http.content_too_large"},
      {"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Status::not_implemented,
       "http.not_implemented"},
      {"GET / HTTP/3.0\r\nHost: a\r\n\r\n", Status::http_version_not_supported, "http.version_not_supported"},
      {"GET /a%2fb HTTP/1.1\r\nHost: a\r\n\r\n", Status::bad_request, "http.bad_request"},
      {"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: magic\r\n\r\nx", Status::expectation_failed,
       "http.expectation_failed"},
  };
  for (auto& rejected : cases) {
    auto client = connect(server);
    auto before = counter_value(rejected.counter);
    auto response = loop().run(exchange(client, rejected.request));
    ASSERT_TRUE(response) << rejected.request;
    EXPECT_EQ(response->status, rejected.status) << rejected.request;
    EXPECT_EQ(response->headers.get("Connection"), "close");
    EXPECT_EQ(counter_value(rejected.counter), before + 1) << rejected.counter;
    EXPECT_EQ(loop().run(client.receive()).error(), Errc::closed);
  }
}

TEST_F(HttpServerTest, HeaderTimeoutCoversTheWholeHeaderSection) {
  Server server(m_router.handler());
  auto client = connect(server);
  auto before = counter_value("http.header_timeout");
  auto start = MonotonicClock::now();
  // A byte every 5 s: each read is quick, but the section never completes in 10 s.
  auto response = loop().run([](TestClient& c) -> Task<Result<ReceivedResponse>> {
    for (char byte : std::string_view("GET / HTTP/1.1\r\n")) {
      CO_TRY(co_await c.send(std::string(1, byte)));
      (void)co_await sleep_for(std::chrono::seconds(5));
      if (MonotonicClock::now() > Instant{} + std::chrono::seconds(12)) break;
    }
    co_return co_await c.receive();
  }(client));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, Status::request_timeout);
  EXPECT_GE(MonotonicClock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(counter_value("http.header_timeout"), before + 1);
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionsClose) {
  ServerOptions options;
  options.idle_timeout = std::chrono::seconds(7);
  Server server(m_router.handler(), options);
  auto client = connect(server);
  auto before = counter_value("http.idle_timeout");
  ASSERT_TRUE(loop().run(exchange(client, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n")));
  auto start = MonotonicClock::now();
  EXPECT_EQ(loop().run(client.receive()).error(), Errc::closed);
  EXPECT_EQ(MonotonicClock::now() - start, std::chrono::seconds(7));
  EXPECT_EQ(counter_value("http.idle_timeout"), before + 1);
  EXPECT_EQ(server.active_connections(), 0u);
}

TEST_F(HttpServerTest, ConnectionLimitClosesNewConnectionsAtOnce) {
  ServerOptions options;
  options.max_connections = 4;
  Server server(m_router.handler(), options);
  auto before = counter_value("http.connection_limit");
  // Three silent clients (slowloris) leave room for a real one.
  std::vector<TestClient> silent;
  for (int i = 0; i < 3; ++i) silent.push_back(connect(server));
  auto real = connect(server);
  EXPECT_EQ(server.active_connections(), 4u);
  auto rejected = connect(server);
  EXPECT_EQ(loop().run(rejected.receive()).error(), Errc::closed);
  EXPECT_EQ(counter_value("http.connection_limit"), before + 1);
  auto response = loop().run(exchange(real, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, Status::ok);
  // Three-quarters full: keep-alive is refused so the slot frees up.
  EXPECT_EQ(response->headers.get("Connection"), "close");
  // The silent ones are dropped at the header timeout.
  for (auto& client : silent) {
    auto timed_out = loop().run(client.receive());
    ASSERT_TRUE(timed_out);
    EXPECT_EQ(timed_out->status, Status::request_timeout);
  }
  loop().run([]() -> Task<void> { (void)co_await sleep_for(std::chrono::seconds(3)); }());
  EXPECT_EQ(server.active_connections(), 0u);
}

TEST_F(HttpServerTest, LowMemoryClosesNewConnectionsAtOnce) {
  Server server(m_router.handler());
  auto before = counter_value("http.no_memory");
  sim::set_memory(64 * 1024 * 1024, 100 * 1024);
  auto refused = connect(server);
  EXPECT_EQ(loop().run(refused.receive()).error(), Errc::closed);
  EXPECT_EQ(counter_value("http.no_memory"), before + 1);
  EXPECT_EQ(server.active_connections(), 0u);
  sim::set_memory(64 * 1024 * 1024, 32 * 1024 * 1024);
  auto served = connect(server);
  auto response = loop().run(exchange(served, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, Status::ok);
}

TEST_F(HttpServerTest, ABodyThatMemoryCannotHoldIsRefusedWith503) {
  Server server(m_router.handler());
  auto client = connect(server);
  auto before = counter_value("http.body_no_memory");
  // Enough to accept the connection, not for 512 KiB of body on top of the reserve.
  sim::set_memory(64 * 1024 * 1024, 600 * 1024);
  auto refused =
      loop().run(exchange(client, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 524288\r\n\r\n", "POST"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, Status::service_unavailable);
  EXPECT_EQ(counter_value("http.body_no_memory"), before + 1);

  sim::set_memory(64 * 1024 * 1024, 32 * 1024 * 1024);
  auto served = connect(server);
  auto echoed =
      loop().run(exchange(served, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", "POST"));
  ASSERT_TRUE(echoed);
  EXPECT_EQ(echoed->body, "hello");
}

TEST_F(HttpServerTest, AnswersExpectContinueAndReadsChunkedBodies) {
  Server server(m_router.handler());
  auto client = connect(server);
  auto result = loop().run([](TestClient& c) -> Task<Result<std::string>> {
    CO_TRY(co_await c.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n"));
    auto interim = CO_TRY(co_await c.receive("POST"));
    if (interim.status != Status::continue_) co_return fail(Errc::malformed, "no 100");
    CO_TRY(co_await c.send("3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"));
    co_return CO_TRY(co_await c.receive("POST")).body;
  }(client));
  ASSERT_TRUE(result) << result.error().context;
  EXPECT_EQ(*result, "abcde");
}

class Countdown final : public BodySource {
public:
  Task<Result<Body>> next() override {
    if (m_left == 0) co_return Body{};
    co_return Body::from_string(std::to_string(m_left--) + " ");
  }

private:
  int m_left = 3;
};

TEST_F(HttpServerTest, StreamsBodiesChunked) {
  Server server([](Request&) -> Task<Response> {
    Response response;
    response.source = std::make_unique<Countdown>();
    co_return response;
  });
  auto client = connect(server);
  auto response = loop().run(exchange(client, "GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->headers.get("Transfer-Encoding"), "chunked");
  EXPECT_EQ(response->body, "3 2 1 ");
  auto old = loop().run(exchange(client, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  ASSERT_TRUE(old);
  EXPECT_EQ(old->body, "3 2 1 ");
  EXPECT_EQ(old->headers.get("Connection"), "close");
}

TEST_F(HttpServerTest, ReplacesResponsesWithUnsafeFieldsBy500) {
  Server server(m_router.handler());
  auto client = connect(server);
  auto before = counter_value("http.bad_response");
  auto response = loop().run(exchange(client, "GET /unsafe HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, Status::internal_server_error);
  EXPECT_FALSE(response->headers.contains("Set-Cookie"));
  EXPECT_EQ(counter_value("http.bad_response"), before + 1);
}

} // namespace
} // namespace morgana::http
