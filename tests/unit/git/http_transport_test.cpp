// The smart HTTP transport under the git client, against a scripted HTTP
// server on the fake network that answers with git http-backend's bytes.

#include "morgana/git/http_transport.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_network.h"
#include "git_captures.h"
#include "git_test_support.h"
#include "http_request_reader.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/format.h"
#include "morgana/git/client.h"
#include "sim.h"

namespace morgana::git {
namespace {

using namespace std::chrono_literals;

const net::Endpoint server_end{net::Ipv4Address::from_octets(192, 0, 2, 2), 8080};

struct HttpScript {
  std::vector<std::string> replies;
  std::vector<std::string> requests;
  int connections = 0;
};

std::string reply(std::string_view type, std::string_view body, std::string_view status = "200 OK") {
  return "HTTP/1.1 " + std::string(status) + "\r\nContent-Type: " + std::string(type) +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

// As nginx passes on git http-backend's output: no Content-Length, chunked.
std::string chunked_reply(std::string_view type, std::string_view body) {
  std::string reply =
      "HTTP/1.1 200 OK\r\nContent-Type: " + std::string(type) + "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t start = 0; start < body.size(); start += 100) {
    auto chunk = body.substr(start, 100);
    reply += format_string("{}\r\n{}\r\n", Hex{chunk.size()}, chunk);
  }
  return reply + "0\r\n\r\n";
}

// git http-backend's replies to a v2 clone's requests (info/refs, ls-refs, fetch), made by `make_reply`.
std::vector<std::string> clone_v2_replies(const auto& make_reply) {
  return {make_reply("application/x-git-upload-pack-advertisement", captured::v2_advertisement),
          make_reply("application/x-git-upload-pack-result", captured::v2_ls_refs_response),
          make_reply("application/x-git-upload-pack-result", captured::v2_fetch_full_response)};
}

using test_support::read_http_request;

Task<void> serve_connection(std::unique_ptr<net::Stream> stream, HttpScript& script) {
  std::string buffer;
  std::string request;
  while (co_await read_http_request(*stream, buffer, request)) {
    script.requests.push_back(request);
    if (script.requests.size() > script.replies.size()) co_return;
    if (!co_await stream->write(as_bytes(script.replies[script.requests.size() - 1]))) co_return;
  }
}

Task<void> serve(std::unique_ptr<net::Listener> listener, HttpScript& script) {
  for (;;) {
    auto stream = co_await listener->accept();
    if (!stream) co_return;
    ++script.connections;
    loop().spawn(serve_connection(std::move(*stream), script));
  }
}

class GitHttpTransportTest : public ::testing::Test {
protected:
  void SetUp() override { sim::reset(); }
  void TearDown() override { loop().destroy_spawned(); }

  morgana::test::FakeNetwork network;
  http::Client http_client{network};

  // ls-refs, then a fetch of main's pack (16 objects) over protocol v2, with
  // `script`'s replies to its three requests.
  void clone_v2(HttpScript& script, std::string_view url) {
    loop().spawn(serve(network.listen(server_end), script));
    HttpTransport transport(http_client, MUST(RemoteUrl::parse(url)));
    Client client(transport);
    auto deadline = MonotonicClock::now() + 30s;
    auto refs = loop().run(client.list_refs({}, deadline));
    ASSERT_TRUE(refs) << client.last_error();
    EXPECT_EQ(refs->size(), 5u);
    std::string pack;
    auto fetched = loop().run(client.fetch(
        {.wants = {std::string(captured::heads_main_id)}},
        [&](Bytes data) -> Result<void> {
          pack.append(as_string(data));
          return {};
        },
        deadline));
    ASSERT_TRUE(fetched) << client.last_error();
    EXPECT_EQ(test::pack_object_count(pack), 16);
  }
};

TEST_F(GitHttpTransportTest, V2OverSmartHttp) {
  HttpScript script;
  script.replies = clone_v2_replies([](auto type, auto body) { return reply(type, body); });
  clone_v2(script, "http://alice:s3cret@192.0.2.2:8080/blog.git/");
  ASSERT_EQ(script.requests.size(), 3u);
  EXPECT_TRUE(script.requests[0].starts_with("GET /blog.git/info/refs?service=git-upload-pack HTTP/1.1\r\n"));
  for (const auto& request : script.requests) {
    EXPECT_NE(request.find("Git-Protocol: version=2\r\n"), std::string::npos);
    EXPECT_NE(request.find("Authorization: Basic YWxpY2U6czNjcmV0\r\n"), std::string::npos); // alice:s3cret
  }
  EXPECT_TRUE(script.requests[1].starts_with("POST /blog.git/git-upload-pack HTTP/1.1\r\n"));
  EXPECT_NE(script.requests[1].find("Content-Type: application/x-git-upload-pack-request\r\n"), std::string::npos);
  EXPECT_TRUE(script.requests[1].ends_with("0000"));
  EXPECT_NE(script.requests[1].find("command=ls-refs\n"), std::string::npos);
  EXPECT_NE(script.requests[2].find("command=fetch\n"), std::string::npos);
}

// The git client stops reading at a response's last flush; the transport
// reads the rest of the HTTP message (here the chunked body's last chunk)
// before the next request, so that the connection is kept alive for it.
TEST_F(GitHttpTransportTest, RequestsShareAKeepAliveConnection) {
  HttpScript script;
  script.replies = clone_v2_replies(chunked_reply);
  clone_v2(script, "http://192.0.2.2:8080/blog.git");
  EXPECT_EQ(script.requests.size(), 3u);
  EXPECT_EQ(script.connections, 1);
}

TEST_F(GitHttpTransportTest, V0OverSmartHttp) {
  HttpScript script;
  script.replies = {reply("application/x-git-upload-pack-advertisement", captured::http_v0_info_refs_body),
                    reply("application/x-git-upload-pack-result", captured::v0_fetch_have_response)};
  loop().spawn(serve(network.listen(server_end), script));
  HttpTransport transport(http_client, MUST(RemoteUrl::parse("http://192.0.2.2:8080/blog.git")));
  Client client(transport, {.protocol = ProtocolVersion::v0});
  std::string pack;
  auto fetched = loop().run(client.fetch(
      {.wants = {std::string(captured::heads_main_id)}, .haves = {std::string(captured::second_id)}},
      [&](Bytes data) -> Result<void> {
        pack.append(as_string(data));
        return {};
      },
      MonotonicClock::now() + 30s));
  ASSERT_TRUE(fetched) << client.last_error();
  EXPECT_EQ(client.protocol(), ProtocolVersion::v0);
  EXPECT_EQ(test::pack_object_count(pack), 4);
  ASSERT_EQ(script.requests.size(), 2u);
  EXPECT_EQ(script.requests[0].find("Git-Protocol"), std::string::npos);
  EXPECT_EQ(script.requests[0].find("Authorization"), std::string::npos);
  EXPECT_TRUE(script.requests[1].ends_with("0009done\n"));
}

TEST_F(GitHttpTransportTest, DumbServersAndMissingRepositoriesAreRefused) {
  HttpScript script;
  script.replies = {reply("text/plain", "6dfd0c5fcb535f24523ab71f4d1debb3e98be862\trefs/heads/main\n"),
                    reply("text/plain", "no such repository", "404 Not Found")};
  loop().spawn(serve(network.listen(server_end), script));
  HttpTransport transport(http_client, MUST(RemoteUrl::parse("http://192.0.2.2:8080/blog.git")));
  Client client(transport);
  auto dumb = loop().run(client.list_refs({}, MonotonicClock::now() + 30s));
  ASSERT_FALSE(dumb);
  EXPECT_EQ(dumb.error(), Errc::unsupported);
  EXPECT_NE(client.last_error().find("smart HTTP"), std::string::npos) << client.last_error();
  auto missing = loop().run(client.list_refs({}, MonotonicClock::now() + 30s));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), Errc::not_found);
}

TEST_F(GitHttpTransportTest, TheHttpClientsSentenceIsKept) {
  HttpTransport transport(http_client, MUST(RemoteUrl::parse("http://192.0.2.2:8081/blog.git")));
  Client client(transport);
  auto refs = loop().run(client.list_refs({}, MonotonicClock::now() + 30s));
  ASSERT_FALSE(refs);
  EXPECT_NE(client.last_error().find("192.0.2.2:8081"), std::string::npos) << client.last_error();
  // Said once: not "connect: connect to 192.0.2.2:8081: ...".
  EXPECT_FALSE(client.last_error().starts_with("connect: ")) << client.last_error();
}

} // namespace
} // namespace morgana::git
