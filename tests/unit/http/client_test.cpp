// The HTTP client against scripted servers on a fake network (in-memory
// streams, the simulated clock).

#include "morgana/http/client.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../tls/test_certs.h"
#include "fake_network.h"
#include "http_request_reader.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/random.h"
#include "morgana/tls/client.h"
#include "morgana/tls/server.h"
#include "sim.h"

namespace morgana::http {
namespace {

const net::Ipv4Address server_address = net::Ipv4Address::from_octets(192, 0, 2, 2);
const net::Endpoint server_end{server_address, 80};

// What one accepted connection does: answers each request it reads with the
// next reply, then ends as `end` says.
struct ConnectionScript {
  enum class End : std::uint8_t {
    close,      // the server closes its end
    half_close, // shuts down its sending side, keeps reading until the client closes
    hold,       // keeps reading (answering nothing more) until the client closes
  };
  std::vector<std::string> replies;
  End end = End::hold;
};

struct Script {
  std::vector<ConnectionScript> connections; // by order of acceptance; others close at once
  std::vector<std::string> requests;         // every request read, head and body
  std::size_t accepted = 0;
};

using test_support::read_http_request;

Task<void> serve_connection(std::unique_ptr<net::Stream> stream, Script& script, ConnectionScript connection) {
  std::string buffer;
  std::string request;
  for (const auto& reply : connection.replies) {
    if (!co_await read_http_request(*stream, buffer, request)) co_return;
    script.requests.push_back(request);
    if (!co_await stream->write(as_bytes(reply))) co_return;
  }
  if (connection.end == ConnectionScript::End::close) co_return;
  if (connection.end == ConnectionScript::End::half_close) (void)stream->shutdown();
  while (co_await read_http_request(*stream, buffer, request)) script.requests.push_back(request);
}

Task<void> serve(std::unique_ptr<net::Listener> listener, Script& script, tls::ServerContext* tls = nullptr) {
  for (;;) {
    auto stream = co_await listener->accept();
    if (!stream) co_return;
    auto index = script.accepted++;
    ConnectionScript connection;
    if (index < script.connections.size()) connection = script.connections[index];
    else connection.end = ConnectionScript::End::close;
    std::unique_ptr<net::Stream> transport = std::move(*stream);
    if (tls) transport = MUST(tls::accept(std::move(transport), *tls));
    loop().spawn(serve_connection(std::move(transport), script, std::move(connection)));
  }
}

std::string ok(std::string_view body, std::string_view extra = "") {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra) + "\r\n" +
         std::string(body);
}

Url url(std::string_view text) { return MUST(Url::parse(text)); }

class HttpClientTest : public ::testing::Test {
protected:
  void SetUp() override {
    sim::reset();
    random::reset();
  }
  void TearDown() override { loop().destroy_spawned(); }

  // Serves `script` on `endpoint` (default 192.0.2.2:80).
  void start(Script& script, net::Endpoint endpoint = server_end, tls::ServerContext* tls = nullptr) {
    loop().spawn(serve(network.listen(endpoint), script, tls));
  }

  Result<ClientResponse> get(Client& client, std::string_view text, std::string method = "GET") {
    ClientRequest request;
    request.method = std::move(method);
    request.url = url(text);
    return loop().run(client.request(std::move(request)));
  }

  test::FakeNetwork network;
};

TEST_F(HttpClientTest, ContentLengthBody) {
  Script script{.connections = {{.replies = {ok("hello", "Content-Type: text/plain\r\n")}}}};
  start(script);
  Client client(network);
  auto response = get(client, "http://192.0.2.2/index.html?x=1");
  ASSERT_TRUE(response.has_value()) << client.last_error();
  EXPECT_EQ(response->status, Status::ok);
  EXPECT_EQ(response->reason, "OK");
  EXPECT_EQ(response->body_text(), "hello");
  EXPECT_EQ(response->headers.get("content-type"), "text/plain");
  EXPECT_EQ(response->redirects, 0u);
  ASSERT_EQ(script.requests.size(), 1u);
  EXPECT_EQ(script.requests[0], "GET /index.html?x=1 HTTP/1.1\r\nHost: 192.0.2.2\r\nUser-Agent: morgana/0.1\r\n\r\n");
}

TEST_F(HttpClientTest, ChunkedBody) {
  Script script{.connections = {{.replies = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                             "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
                                             ok("again")}}}};
  start(script);
  Client client(network);
  auto response = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(response.has_value()) << client.last_error();
  EXPECT_EQ(response->body_text(), "hello world");
  // The chunked message ended cleanly: the connection serves the next request.
  auto again = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(again.has_value()) << client.last_error();
  EXPECT_EQ(again->body_text(), "again");
  EXPECT_EQ(network.connects().size(), 1u);
}

TEST_F(HttpClientTest, BodyUntilClose) {
  Script script{
      .connections = {{.replies = {"HTTP/1.1 200 OK\r\n\r\nuntil the end"}, .end = ConnectionScript::End::close}}};
  start(script);
  Client client(network);
  auto response = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(response.has_value()) << client.last_error();
  EXPECT_EQ(response->body_text(), "until the end");
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTest, HeadAnd304HaveNoBodyAndKeepTheConnection) {
  Script script{.connections = {{.replies = {"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
                                             "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 7\r\n\r\n",
                                             "HTTP/1.1 204 No Content\r\n\r\n", ok("body")}}}};
  start(script);
  Client client(network);
  auto reused = client_reused.value();
  auto head = get(client, "http://192.0.2.2/", "HEAD");
  ASSERT_TRUE(head.has_value()) << client.last_error();
  EXPECT_EQ(head->headers.get("Content-Length"), "1000");
  EXPECT_TRUE(head->body.empty());
  auto not_modified = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(not_modified.has_value()) << client.last_error();
  EXPECT_EQ(not_modified->status, Status::not_modified);
  EXPECT_TRUE(not_modified->body.empty());
  auto no_content = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(no_content.has_value()) << client.last_error();
  EXPECT_EQ(no_content->status, Status::no_content);
  auto last = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(last.has_value()) << client.last_error();
  EXPECT_EQ(last->body_text(), "body");
  EXPECT_EQ(network.connects().size(), 1u);
  EXPECT_EQ(client_reused.value(), reused + 3);
  EXPECT_TRUE(script.requests[0].starts_with("HEAD / HTTP/1.1\r\n"));
}

TEST_F(HttpClientTest, IdleConnectionsExpire) {
  Script script{.connections = {{.replies = {ok("one")}}, {.replies = {ok("two")}}}};
  start(script);
  Client client(network, {.idle_timeout = std::chrono::seconds(30)});
  ASSERT_TRUE(get(client, "http://192.0.2.2/").has_value()) << client.last_error();
  EXPECT_EQ(client.idle_connections(), 1u);
  sim::advance(std::chrono::nanoseconds(31s).count());
  auto second = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(second.has_value()) << client.last_error();
  EXPECT_EQ(second->body_text(), "two");
  EXPECT_EQ(network.connects().size(), 2u);
}

TEST_F(HttpClientTest, ConnectionCloseIsNotReused) {
  Script script{.connections = {{.replies = {ok("one", "Connection: close\r\n")}}, {.replies = {ok("two")}}}};
  start(script);
  Client client(network);
  ASSERT_TRUE(get(client, "http://192.0.2.2/").has_value()) << client.last_error();
  EXPECT_EQ(client.idle_connections(), 0u);
  auto second = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(second.has_value()) << client.last_error();
  EXPECT_EQ(second->body_text(), "two");
  EXPECT_EQ(network.connects().size(), 2u);
}

TEST_F(HttpClientTest, BytesAfterTheResponseAreNotReused) {
  Script script{.connections = {{.replies = {ok("one") + "HTTP/1.1 200 OK\r\n"}}}};
  start(script);
  Client client(network);
  auto response = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(response.has_value()) << client.last_error();
  EXPECT_EQ(response->body_text(), "one");
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTest, Http10ResponseIsNotReused) {
  Script script{.connections = {{.replies = {"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold"}}}};
  start(script);
  Client client(network);
  auto response = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(response.has_value()) << client.last_error();
  EXPECT_EQ(response->version, Version::http_1_0);
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTest, RetriesOnceWhenTheServerClosedAnIdleConnection) {
  for (auto end : {ConnectionScript::End::close, ConnectionScript::End::half_close}) {
    Script script{.connections = {{.replies = {ok("first")}, .end = end}, {.replies = {ok("second")}}}};
    test::FakeNetwork fresh;
    loop().spawn(serve(fresh.listen(server_end), script));
    Client client(fresh);
    auto retries = client_retries.value();
    ASSERT_TRUE(loop().run(client.request({.url = url("http://192.0.2.2/")})).has_value()) << client.last_error();
    EXPECT_EQ(client.idle_connections(), 1u);
    auto second = loop().run(client.request({.url = url("http://192.0.2.2/")}));
    ASSERT_TRUE(second.has_value()) << client.last_error();
    EXPECT_EQ(second->body_text(), "second");
    EXPECT_EQ(client_retries.value(), retries + 1);
    EXPECT_EQ(fresh.connects().size(), 2u);
    loop().destroy_spawned();
  }
}

TEST_F(HttpClientTest, DoesNotRetryAPost) {
  Script script{.connections = {{.replies = {ok("first")}, .end = ConnectionScript::End::half_close},
                                {.replies = {ok("second")}}}};
  start(script);
  Client client(network);
  ASSERT_TRUE(get(client, "http://192.0.2.2/").has_value()) << client.last_error();
  std::string body = "data";
  auto post =
      loop().run(client.request({.method = "POST", .url = url("http://192.0.2.2/form"), .body = as_bytes(body)}));
  ASSERT_FALSE(post.has_value());
  EXPECT_EQ(post.error().code, Errc::closed);
  EXPECT_EQ(client.last_error(), "POST http://192.0.2.2/form: connection closed before answering");
  EXPECT_EQ(network.connects().size(), 1u);
}

TEST_F(HttpClientTest, FreshConnectionClosedUnansweredFails) {
  Script script{.connections = {{.end = ConnectionScript::End::half_close}}};
  start(script);
  Client client(network);
  auto response = get(client, "http://192.0.2.2/");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::closed);
  EXPECT_EQ(network.connects().size(), 1u);
}

TEST_F(HttpClientTest, SendsBodyAndHeaders) {
  Script script{.connections = {{.replies = {ok("created")}}}};
  start(script);
  Client client(network, {.user_agent = "test-agent"});
  std::string body(40000, 'b');
  ClientRequest request{.method = "PUT", .url = url("http://192.0.2.2:80/upload"), .body = as_bytes(body)};
  request.headers.add("Content-Type", "application/octet-stream");
  request.headers.add("Content-Length", "1"); // ignored: the client computes it
  auto response = loop().run(client.request(std::move(request)));
  ASSERT_TRUE(response.has_value()) << client.last_error();
  ASSERT_EQ(script.requests.size(), 1u);
  EXPECT_EQ(script.requests[0], "PUT /upload HTTP/1.1\r\nHost: 192.0.2.2\r\nUser-Agent: test-agent\r\n"
                                "Content-Type: application/octet-stream\r\nContent-Length: 40000\r\n\r\n" +
                                    body);
}

TEST_F(HttpClientTest, RefusesBadRequests) {
  Client client(network);
  ClientRequest bad_header{.url = url("http://192.0.2.2/")};
  bad_header.headers.add("X-Evil", "a\r\nInjected: yes");
  auto response = loop().run(client.request(std::move(bad_header)));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().context, "bad header field in request");
  response = loop().run(client.request({.method = "GE T", .url = url("http://192.0.2.2/")}));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().context, "bad request method");
  EXPECT_TRUE(network.connects().empty());
}

TEST_F(HttpClientTest, InterimResponsesAreSkipped) {
  Script script{
      .connections = {
          {.replies = {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n" + ok("final")}}}};
  start(script);
  Client client(network);
  auto response = get(client, "http://192.0.2.2/");
  ASSERT_TRUE(response.has_value()) << client.last_error();
  EXPECT_EQ(response->status, Status::ok);
  EXPECT_EQ(response->body_text(), "final");
}

TEST_F(HttpClientTest, RedirectsAreReturnedUnlessAsked) {
  Script script{.connections = {{.replies = {"HTTP/1.1 301 Moved\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n"}}}};
  start(script);
  Client client(network);
  auto response = get(client, "http://192.0.2.2/old");
  ASSERT_TRUE(response.has_value()) << client.last_error();
  EXPECT_EQ(response->status, Status::moved_permanently);
  EXPECT_EQ(response->headers.get("Location"), "/new");
}

TEST_F(HttpClientTest, FollowsRedirectsOnTheSameConnection) {
  Script script{.connections = {{.replies = {"HTTP/1.1 302 Found\r\nLocation: b/c?d\r\nContent-Length: 5\r\n\r\nmoved",
                                             "HTTP/1.1 307 Temporary\r\nLocation: http://192.0.2.2/final\r\n"
                                             "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                                             ok("here")}}}};
  start(script);
  Client client(network, {.max_redirects = 5});
  auto response = get(client, "http://192.0.2.2/a/start");
  ASSERT_TRUE(response.has_value()) << client.last_error();
  EXPECT_EQ(response->body_text(), "here");
  EXPECT_EQ(response->redirects, 2u);
  EXPECT_EQ(response->url.to_string(), "http://192.0.2.2/final");
  ASSERT_EQ(script.requests.size(), 3u);
  EXPECT_TRUE(script.requests[1].starts_with("GET /a/b/c?d HTTP/1.1\r\n"));
  EXPECT_TRUE(script.requests[2].starts_with("GET /final HTTP/1.1\r\n"));
  EXPECT_EQ(network.connects().size(), 1u);
}

TEST_F(HttpClientTest, RedirectMethodRules) {
  // 303 turns a POST into a GET without a body; 307 and 308 keep both.
  Script script{
      .connections = {
          {.replies = {"HTTP/1.1 303 See Other\r\nLocation: /seen\r\nContent-Length: 0\r\n\r\n", ok("got"),
                       "HTTP/1.1 308 Permanent\r\nLocation: /kept\r\nContent-Length: 0\r\n\r\n", ok("posted")}}}};
  start(script);
  Client client(network, {.max_redirects = 1});
  std::string body = "payload";
  ClientRequest post{.method = "POST", .url = url("http://192.0.2.2/submit"), .body = as_bytes(body)};
  post.headers.add("Content-Type", "text/plain");
  auto first = loop().run(client.request(post));
  ASSERT_TRUE(first.has_value()) << client.last_error();
  EXPECT_EQ(first->body_text(), "got");
  auto second = loop().run(client.request(post));
  ASSERT_TRUE(second.has_value()) << client.last_error();
  EXPECT_EQ(second->body_text(), "posted");
  ASSERT_EQ(script.requests.size(), 4u);
  EXPECT_EQ(script.requests[1], "GET /seen HTTP/1.1\r\nHost: 192.0.2.2\r\nUser-Agent: morgana/0.1\r\n\r\n");
  EXPECT_EQ(script.requests[3], "POST /kept HTTP/1.1\r\nHost: 192.0.2.2\r\nUser-Agent: morgana/0.1\r\n"
                                "Content-Type: text/plain\r\nContent-Length: 7\r\n\r\npayload");
}

TEST_F(HttpClientTest, RedirectToAnotherOriginDropsCredentials) {
  Script first{.connections = {{.replies = {"HTTP/1.1 302 Found\r\nLocation: http://192.0.2.3:8080/x\r\n"
                                            "Content-Length: 0\r\n\r\n"}}}};
  Script second{.connections = {{.replies = {ok("other")}}}};
  start(first);
  start(second, {net::Ipv4Address::from_octets(192, 0, 2, 3), 8080});
  Client client(network, {.max_redirects = 2});
  ClientRequest request{.url = url("http://192.0.2.2/")};
  request.headers.add("Authorization", "Bearer secret");
  request.headers.add("Accept", "*/*");
  auto response = loop().run(client.request(std::move(request)));
  ASSERT_TRUE(response.has_value()) << client.last_error();
  EXPECT_EQ(response->body_text(), "other");
  ASSERT_EQ(second.requests.size(), 1u);
  EXPECT_EQ(second.requests[0],
            "GET /x HTTP/1.1\r\nHost: 192.0.2.3:8080\r\nUser-Agent: morgana/0.1\r\nAccept: */*\r\n\r\n");
}

TEST_F(HttpClientTest, RedirectLoopStopsAtTheLimit) {
  std::string loop_reply = "HTTP/1.1 302 Found\r\nLocation: /again\r\nContent-Length: 0\r\n\r\n";
  Script script{.connections = {{.replies = std::vector<std::string>(10, loop_reply)}}};
  start(script);
  Client client(network, {.max_redirects = 3});
  auto response = get(client, "http://192.0.2.2/");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::limit_reached);
  EXPECT_EQ(response.error().context, "too many redirects");
  EXPECT_EQ(client.last_error(), "GET http://192.0.2.2/: more than 3 redirects");
  EXPECT_EQ(script.requests.size(), 4u);
}

TEST_F(HttpClientTest, BadLocationFails) {
  Script script{
      .connections = {{.replies = {"HTTP/1.1 302 Found\r\nLocation: ftp://x/\r\nContent-Length: 0\r\n\r\n"}}}};
  start(script);
  Client client(network, {.max_redirects = 3});
  auto response = get(client, "http://192.0.2.2/");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(client.last_error(),
            "redirect from http://192.0.2.2/ to a bad Location 'ftp://x/': URL scheme is not http or https");
}

TEST_F(HttpClientTest, BodyLimit) {
  Script script{
      .connections = {{.replies = {ok(std::string(2000, 'x'))}},
                      {.replies = {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   "258\r\n" +
                                   std::string(600, 'y') + "\r\n258\r\n" + std::string(600, 'y') + "\r\n0\r\n\r\n"}}}};
  start(script);
  Client client(network, {.max_body_size = 1000});
  auto announced = get(client, "http://192.0.2.2/");
  ASSERT_FALSE(announced.has_value());
  EXPECT_EQ(announced.error().code, Errc::limit_reached);
  EXPECT_EQ(announced.error().context, "response body larger than limit");
  auto chunked = get(client, "http://192.0.2.2/");
  ASSERT_FALSE(chunked.has_value());
  EXPECT_EQ(chunked.error().context, "response body larger than limit");
  EXPECT_EQ(client.last_error(), "response body from 192.0.2.2: response body larger than limit");
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTest, LargeBodyStreamsThroughOpen) {
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7) % 26);
  Script script{.connections = {{.replies = {ok(big), ok(big)}}}};
  start(script);
  Client client(network, {.max_body_size = 8 * 1024 * 1024});
  auto reader = loop().run(client.open({.url = url("http://192.0.2.2/pack")}));
  ASSERT_TRUE(reader.has_value()) << client.last_error();
  EXPECT_EQ(reader->framing().kind, BodyFraming::Kind::length);
  std::size_t total = 0;
  bool same = true;
  for (;;) {
    auto piece = loop().run(reader->read());
    ASSERT_TRUE(piece.has_value()) << client.last_error();
    if (piece->empty()) break;
    same = same && as_string(*piece) == std::string_view(big).substr(total, piece->size());
    total += piece->size();
  }
  EXPECT_EQ(total, big.size());
  EXPECT_TRUE(same);
  EXPECT_TRUE(reader->done());
  EXPECT_EQ(client.idle_connections(), 1u);
  auto whole = get(client, "http://192.0.2.2/pack");
  ASSERT_TRUE(whole.has_value()) << client.last_error();
  EXPECT_EQ(whole->body_text(), big);
}

TEST_F(HttpClientTest, AbandonedReaderClosesTheConnection) {
  Script script{.connections = {{.replies = {ok(std::string(100000, 'z'))}}}};
  start(script);
  Client client(network);
  {
    auto reader = loop().run(client.open({.url = url("http://192.0.2.2/")}));
    ASSERT_TRUE(reader.has_value()) << client.last_error();
  }
  EXPECT_EQ(client.idle_connections(), 0u);
}

TEST_F(HttpClientTest, ResponseTimeout) {
  Script script{.connections = {{.end = ConnectionScript::End::hold}}};
  start(script);
  Client client(network, {.request_timeout = std::chrono::seconds(5)});
  auto start_time = MonotonicClock::now();
  auto response = get(client, "http://192.0.2.2/");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::timed_out);
  EXPECT_EQ(client.last_error(), "waiting for the response from 192.0.2.2: timed out");
  EXPECT_EQ(MonotonicClock::now() - start_time, std::chrono::seconds(5));
}

TEST_F(HttpClientTest, BodyTimeoutAndRequestDeadline) {
  Script script{.connections = {{.replies = {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"}}}};
  start(script);
  Client client(network, {.request_timeout = std::chrono::seconds(30)});
  auto start_time = MonotonicClock::now();
  auto response = loop().run(client.request({.url = url("http://192.0.2.2/"), .deadline = start_time + 3s}));
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::timed_out);
  EXPECT_EQ(client.last_error(), "reading the response body from 192.0.2.2: timed out");
  EXPECT_EQ(MonotonicClock::now() - start_time, std::chrono::seconds(3));
}

TEST_F(HttpClientTest, ConnectErrorsNameTheEndpoint) {
  network.black_hole({net::Ipv4Address::from_octets(10, 0, 0, 1), 443});
  auto anchors = std::make_shared<tls::TrustAnchors>(MUST(tls::TrustAnchors::from_pem(test::certs::ca_pem)));
  Client client(network, {.connect_timeout = std::chrono::seconds(7), .trust_anchors = anchors});
  auto start_time = MonotonicClock::now();
  auto response = get(client, "https://10.0.0.1/");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::timed_out);
  EXPECT_EQ(client.last_error(), "connect to 10.0.0.1:443: timed out");
  EXPECT_EQ(MonotonicClock::now() - start_time, std::chrono::seconds(7));
  response = get(client, "http://192.0.2.9:8080/");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::closed);
  EXPECT_EQ(client.last_error(), "connect to 192.0.2.9:8080: connection refused");
}

TEST_F(HttpClientTest, HostNames) {
  Script script{.connections = {{.replies = {ok("named")}}}};
  start(script);
  Client plain(network);
  auto unresolved = get(plain, "http://www.example.test/");
  ASSERT_FALSE(unresolved.has_value());
  EXPECT_EQ(unresolved.error().code, Errc::unsupported);
  EXPECT_EQ(plain.last_error(), "resolve www.example.test: no DNS resolver (only IP addresses work)");
  Client mapped(network, {.host_addresses = {{"WWW.example.test", server_address}}});
  auto response = get(mapped, "http://www.example.test/");
  ASSERT_TRUE(response.has_value()) << mapped.last_error();
  EXPECT_EQ(script.requests.at(0), "GET / HTTP/1.1\r\nHost: www.example.test\r\nUser-Agent: morgana/0.1\r\n\r\n");
}

TEST_F(HttpClientTest, MalformedResponses) {
  struct Case {
    std::string reply;
    Errc code;
    std::string_view context;
  };
  std::vector<Case> cases = {
      {"hello there\r\n\r\n", Errc::malformed, "malformed status line"},
      {"HTTQ/1.1 200 OK\r\n\r\n", Errc::malformed, "malformed HTTP version"},
      {"HTTP/1.1 2x0 OK\r\n\r\n", Errc::malformed, "malformed status code"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", Errc::malformed, "bad Content-Length"},
      {"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", Errc::malformed, "bad field name"},
      {"HTTP/1.1 200 OK\nContent-Length: 0\n\n", Errc::malformed, "line ends in a bare LF"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", Errc::malformed, ""},
      {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", Errc::truncated, "connection closed inside a body"},
      {"HTTP/1.1 200 OK\r\nContent-Le", Errc::truncated, "connection closed inside a head"},
      {"HTTP/1.1 101 Switching Protocols\r\n\r\n", Errc::unsupported, "unexpected 101 Switching Protocols"},
  };
  for (const auto& c : cases) {
    Script script{.connections = {{.replies = {c.reply}, .end = ConnectionScript::End::close}}};
    test::FakeNetwork fresh;
    loop().spawn(serve(fresh.listen(server_end), script));
    Client client(fresh);
    auto response = loop().run(client.request({.url = url("http://192.0.2.2/")}));
    ASSERT_FALSE(response.has_value()) << c.reply;
    EXPECT_EQ(response.error().code, c.code) << c.reply;
    if (!c.context.empty()) EXPECT_EQ(response.error().context, c.context) << c.reply;
    EXPECT_FALSE(client.last_error().empty());
    EXPECT_EQ(client.idle_connections(), 0u);
    loop().destroy_spawned();
  }
}

class HttpsClientTest : public HttpClientTest {
protected:
  void SetUp() override {
    HttpClientTest::SetUp();
    tls::ServerConfig config;
    config.credentials.push_back(
        MUST(tls::Credentials::from_pem(test::certs::ec_server_pem, test::certs::ec_server_key)));
    server = MUST(tls::ServerContext::create(std::move(config)));
    anchors = std::make_shared<tls::TrustAnchors>(MUST(tls::TrustAnchors::from_pem(test::certs::ca_pem)));
  }

  std::unique_ptr<tls::ServerContext> server;
  std::shared_ptr<tls::TrustAnchors> anchors;
  const net::Endpoint loopback_443{net::Ipv4Address::from_octets(127, 0, 0, 1), 443};
};

TEST_F(HttpsClientTest, FetchesOverTlsAndKeepsTheConnection) {
  Script script{.connections = {{.replies = {ok("secret"), ok("again")}}}};
  start(script, loopback_443, server.get());
  Client client(network, {.trust_anchors = anchors});
  auto response = get(client, "https://localhost/page");
  ASSERT_TRUE(response.has_value()) << client.last_error();
  EXPECT_EQ(response->body_text(), "secret");
  auto again = get(client, "https://localhost/page");
  ASSERT_TRUE(again.has_value()) << client.last_error();
  EXPECT_EQ(again->body_text(), "again");
  EXPECT_EQ(network.connects().size(), 1u);
  EXPECT_EQ(script.requests.at(0), "GET /page HTTP/1.1\r\nHost: localhost\r\nUser-Agent: morgana/0.1\r\n\r\n");
}

TEST_F(HttpsClientTest, ResumesTheTlsSessionOnANewConnection) {
  Script script{.connections = {{.replies = {ok("one", "Connection: close\r\n")}}, {.replies = {ok("two")}}}};
  start(script, loopback_443, server.get());
  Client client(network, {.trust_anchors = anchors});
  auto resumptions = tls::client_resumptions.value();
  ASSERT_TRUE(get(client, "https://localhost/").has_value()) << client.last_error();
  auto second = get(client, "https://localhost/");
  ASSERT_TRUE(second.has_value()) << client.last_error();
  EXPECT_EQ(second->body_text(), "two");
  EXPECT_EQ(network.connects().size(), 2u);
  EXPECT_EQ(tls::client_resumptions.value(), resumptions + 1);
}

TEST_F(HttpsClientTest, RejectsAWrongHostName) {
  Script script{.connections = {{.replies = {ok("never")}}}};
  start(script, loopback_443, server.get());
  Client client(network, {.trust_anchors = anchors,
                          .host_addresses = {{"wrong.test", net::Ipv4Address::from_octets(127, 0, 0, 1)}}});
  auto response = get(client, "https://wrong.test/");
  ASSERT_FALSE(response.has_value());
  EXPECT_TRUE(client.last_error().starts_with("TLS with wrong.test (127.0.0.1:443): "));
  EXPECT_NE(client.last_error().find("BR_ERR_X509_BAD_SERVER_NAME"), std::string_view::npos) << client.last_error();
  EXPECT_TRUE(script.requests.empty());
}

TEST_F(HttpsClientTest, RejectsAnUntrustedServer) {
  Script script{.connections = {{.replies = {ok("never")}}}};
  start(script, loopback_443, server.get());
  auto other = std::make_shared<tls::TrustAnchors>(MUST(tls::TrustAnchors::from_pem(test::certs::other_ca_pem)));
  Client client(network, {.trust_anchors = other});
  auto response = get(client, "https://localhost/");
  ASSERT_FALSE(response.has_value());
  EXPECT_NE(client.last_error().find("BR_ERR_X509_NOT_TRUSTED"), std::string_view::npos) << client.last_error();
}

TEST_F(HttpsClientTest, RefusesHttpsWithoutTrustAnchors) {
  Client client(network);
  auto response = get(client, "https://localhost/");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, Errc::unsupported);
  EXPECT_EQ(client.last_error(), "localhost: https needs trust anchors, and none are configured");
  EXPECT_TRUE(network.connects().empty());
}

TEST_F(HttpsClientTest, RefusesARedirectToPlainHttp) {
  Script script{.connections = {{.replies = {"HTTP/1.1 301 Moved\r\nLocation: http://localhost/\r\n"
                                             "Content-Length: 0\r\n\r\n"}}}};
  start(script, loopback_443, server.get());
  Client client(network, {.max_redirects = 5, .trust_anchors = anchors});
  auto response = get(client, "https://localhost/");
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().context, "redirect from https to http refused");
  EXPECT_EQ(client.last_error(), "redirect from https://localhost/ to http://localhost/ refused: https to http");
}

} // namespace
} // namespace morgana::http
