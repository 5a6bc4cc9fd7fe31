// The upload-pack client over a scripted transport that replays git's own
// bytes, and the git:// transport against a scripted daemon on the fake
// network.

#include "morgana/git/client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fake_network.h"
#include "git_captures.h"
#include "git_test_support.h"
#include "morgana/core/event_loop.h"
#include "morgana/git/daemon_transport.h"
#include "scripted_transport.h"
#include "sim.h"

namespace morgana::git {
namespace {

using namespace std::chrono_literals;
using test::ScriptedTransport;

Instant soon() { return MonotonicClock::now() + 10s; }

class GitClientTest : public ::testing::Test {
protected:
  void SetUp() override { sim::reset(); }
  void TearDown() override { loop().destroy_spawned(); }

  Result<FetchResult> fetch(Client& client, FetchRequest request) {
    pack.clear();
    return loop().run(client.fetch(
        std::move(request),
        [this](Bytes data) -> Result<void> {
          pack.append(as_string(data));
          return {};
        },
        soon()));
  }

  std::string pack;
};

TEST_F(GitClientTest, ListsRefsAndFetchesInV2) {
  ScriptedTransport transport;
  transport.advertisement_v2 = captured::v2_advertisement;
  transport.responses = {std::string(captured::v2_ls_refs_response), std::string(captured::v2_fetch_full_response)};
  Client client(transport);
  auto refs = loop().run(client.list_refs({.ref_prefixes = {"HEAD", "refs/heads/", "refs/tags/"}}, soon()));
  ASSERT_TRUE(refs) << client.last_error();
  EXPECT_EQ(client.protocol(), ProtocolVersion::v2);
  ASSERT_EQ(refs->size(), 5u);
  EXPECT_EQ((*refs)[0].symref_target, "refs/heads/main");
  EXPECT_EQ((*refs)[4].peeled, captured::second_id);
  auto fetched = fetch(client, {.wants = {std::string(captured::heads_main_id), std::string(captured::heads_draft_id),
                                          std::string(captured::tags_v1_id)}});
  ASSERT_TRUE(fetched) << client.last_error();
  EXPECT_EQ(test::pack_object_count(pack), 16);
  EXPECT_EQ(fetched->pack_bytes, pack.size());
  // One connection for both commands.
  EXPECT_EQ(transport.opens, std::vector<ProtocolVersion>{ProtocolVersion::v2});
  ASSERT_EQ(transport.requests.size(), 2u);
  EXPECT_TRUE(transport.requests[0].starts_with("0014command=ls-refs\n"));
  EXPECT_TRUE(transport.requests[1].starts_with("0012command=fetch\n"));
  EXPECT_NE(transport.requests[1].find("0009done\n0000"), std::string::npos);
}

TEST_F(GitClientTest, FallsBackToV0WhenTheServerAnswersSo) {
  ScriptedTransport transport;
  // An old server ignores version=2 and sends its ref advertisement.
  transport.advertisement_v2 = captured::v0_advertisement;
  transport.responses = {std::string(captured::v0_fetch_full_response)};
  Client client(transport);
  auto refs = loop().run(client.list_refs({.ref_prefixes = {"refs/tags/"}}, soon()));
  ASSERT_TRUE(refs) << client.last_error();
  EXPECT_EQ(client.protocol(), ProtocolVersion::v0);
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[1].name, "refs/tags/v1");
  EXPECT_EQ((*refs)[1].peeled, captured::second_id);
  auto fetched = fetch(client, {.wants = {std::string(captured::heads_main_id), std::string(captured::heads_draft_id),
                                          std::string(captured::tags_v1_id)}});
  ASSERT_TRUE(fetched) << client.last_error();
  EXPECT_EQ(test::pack_object_count(pack), 16);
  ASSERT_EQ(transport.requests.size(), 1u);
  EXPECT_TRUE(transport.requests[0].starts_with("00"));
  EXPECT_NE(transport.requests[0].find(" multi_ack_detailed side-band-64k ofs-delta"), std::string::npos);
  EXPECT_TRUE(transport.requests[0].ends_with("00000009done\n"));
}

TEST_F(GitClientTest, ForcedV0OverSmartHttp) {
  ScriptedTransport transport;
  transport.advertisement_v0 = captured::http_v0_info_refs_body;
  transport.responses = {std::string(captured::v0_fetch_have_response)};
  Client client(transport, {.protocol = ProtocolVersion::v0});
  auto refs = loop().run(client.list_refs({}, soon()));
  ASSERT_TRUE(refs) << client.last_error();
  EXPECT_EQ(refs->size(), 5u);
  EXPECT_EQ(transport.opens, std::vector<ProtocolVersion>{ProtocolVersion::v0});
  auto fetched = fetch(client, {.wants = {std::string(captured::heads_main_id)},
                                .haves = {std::string(captured::second_id), std::string(40, '1')}});
  ASSERT_TRUE(fetched) << client.last_error();
  EXPECT_EQ(fetched->common, std::vector<std::string>{std::string(captured::second_id)});
  EXPECT_EQ(test::pack_object_count(pack), 4);
}

TEST_F(GitClientTest, ShallowFetchInBothVersions) {
  for (auto version : {ProtocolVersion::v2, ProtocolVersion::v0}) {
    ScriptedTransport transport;
    transport.advertisement_v2 = captured::v2_advertisement;
    transport.advertisement_v0 = captured::v0_advertisement;
    transport.responses = {std::string(version == ProtocolVersion::v2 ? captured::v2_fetch_deepen_response
                                                                      : captured::v0_fetch_deepen_response)};
    Client client(transport, {.protocol = version});
    auto fetched = fetch(client, {.wants = {std::string(captured::heads_main_id)}, .depth = 1});
    ASSERT_TRUE(fetched) << client.last_error();
    EXPECT_EQ(fetched->shallow, std::vector<std::string>{std::string(captured::heads_main_id)});
    EXPECT_EQ(test::pack_object_count(pack), 6);
    EXPECT_NE(transport.requests[0].find("deepen 1\n"), std::string::npos);
  }
}

TEST_F(GitClientTest, ServerErrorsKeepTheirText) {
  ScriptedTransport transport;
  transport.advertisement_v2 = captured::v2_not_found_advertisement;
  Client client(transport);
  auto refs = loop().run(client.list_refs({}, soon()));
  ASSERT_FALSE(refs);
  EXPECT_EQ(refs.error(), Errc::io_error);
  EXPECT_NE(client.last_error().find("access denied or repository not exported: /nope.git"), std::string::npos)
      << client.last_error();

  ScriptedTransport wrong_want;
  wrong_want.advertisement_v2 = captured::v2_advertisement;
  wrong_want.responses = {std::string(captured::v2_fetch_not_our_ref_response)};
  Client other(wrong_want);
  auto fetched = fetch(other, {.wants = {std::string(40, '2')}});
  ASSERT_FALSE(fetched);
  EXPECT_NE(other.last_error().find("not our ref 2222222222222222222222222222222222222222"), std::string::npos);
}

TEST_F(GitClientTest, Sha256RepositoriesAreRefused) {
  ScriptedTransport transport;
  transport.advertisement_v2 = captured::v2_sha256_advertisement;
  Client client(transport);
  auto refs = loop().run(client.list_refs({}, soon()));
  ASSERT_FALSE(refs);
  EXPECT_EQ(refs.error(), Errc::unsupported);
  EXPECT_NE(client.last_error().find("SHA-256"), std::string::npos);
}

TEST_F(GitClientTest, TruncatedResponse) {
  ScriptedTransport transport;
  transport.advertisement_v2 = captured::v2_advertisement;
  transport.responses = {std::string(captured::v2_fetch_full_response.substr(0, 1500))};
  Client client(transport);
  auto fetched = fetch(client, {.wants = {std::string(captured::heads_main_id)}});
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error(), Errc::truncated);
}

TEST_F(GitClientTest, SinkErrorStopsTheFetch) {
  ScriptedTransport transport;
  transport.advertisement_v2 = captured::v2_advertisement;
  transport.responses = {std::string(captured::v2_fetch_full_response)};
  Client client(transport);
  auto fetched = loop().run(client.fetch(
      {.wants = {std::string(captured::heads_main_id)}},
      [](Bytes) -> Result<void> { return fail(Errc::no_memory, "store full"); }, soon()));
  ASSERT_FALSE(fetched);
  EXPECT_EQ(fetched.error(), Errc::no_memory);
}

// A git daemon on the fake network: checks the service request, then
// answers with the advertisement and, for each request, the next response.
Task<void> serve_daemon(std::unique_ptr<net::Listener> listener, std::string expected_request,
                        std::string advertisement, std::vector<std::string> responses, std::string& received) {
  auto stream = co_await listener->accept();
  if (!stream) co_return;
  std::byte buffer[4096];
  std::string input;
  while (input.size() < expected_request.size()) {
    auto count = co_await (*stream)->read(buffer);
    if (!count || *count == 0) co_return;
    input.append(reinterpret_cast<const char*>(buffer), *count);
  }
  received = input;
  if (input != expected_request) co_return;
  if (!co_await (*stream)->write(as_bytes(advertisement))) co_return;
  for (const auto& response : responses) {
    auto count = co_await (*stream)->read(buffer);
    if (!count || *count == 0) co_return;
    if (!co_await (*stream)->write(as_bytes(response))) co_return;
  }
  (void)(*stream)->shutdown();
  (void)co_await (*stream)->read(buffer);
}

TEST_F(GitClientTest, DaemonTransportSpeaksGitProtocol) {
  morgana::test::FakeNetwork network;
  const net::Endpoint daemon{net::Ipv4Address::from_octets(192, 0, 2, 2), 29418};
  std::string received;
  std::string expected = std::string("003egit-upload-pack /repo.git\0host=192.0.2.2:29418\0\0version=2\0", 62);
  loop().spawn(serve_daemon(network.listen(daemon), expected, std::string(captured::v2_advertisement),
                            {std::string(captured::v2_ls_refs_response)}, received));
  DaemonTransport transport(network, nullptr, MUST(RemoteUrl::parse("git://192.0.2.2:29418/repo.git")));
  EXPECT_EQ(MUST(transport.service_request(ProtocolVersion::v2)), expected);
  Client client(transport);
  auto refs = loop().run(client.list_refs({}, soon()));
  EXPECT_EQ(received, expected);
  ASSERT_TRUE(refs) << client.last_error();
  EXPECT_EQ(refs->size(), 5u);
  EXPECT_EQ(network.connects(), std::vector<net::Endpoint>{daemon});
}

TEST_F(GitClientTest, DaemonTransportV0RequestAndDefaultPort) {
  morgana::test::FakeNetwork network;
  DaemonTransport transport(network, nullptr, MUST(RemoteUrl::parse("git://192.0.2.2/blog.git")));
  EXPECT_EQ(MUST(transport.service_request(ProtocolVersion::v0)),
            std::string("002dgit-upload-pack /blog.git\0host=192.0.2.2\0", 45));
  DaemonTransport http(network, nullptr, MUST(RemoteUrl::parse("http://192.0.2.2/blog.git")));
  EXPECT_EQ(http.service_request(ProtocolVersion::v2).error(), Errc::invalid_argument);
  // A host name without a resolver cannot be reached.
  DaemonTransport named(network, nullptr, MUST(RemoteUrl::parse("git://git.example/blog.git")));
  Client client(named);
  auto refs = loop().run(client.list_refs({}, soon()));
  ASSERT_FALSE(refs);
  EXPECT_EQ(refs.error(), Errc::unreachable);
}

TEST_F(GitClientTest, DaemonTransportNamesTheRemoteThatFailed) {
  morgana::test::FakeNetwork network; // nobody listens: refused
  DaemonTransport transport(network, nullptr, MUST(RemoteUrl::parse("git://192.0.2.2:29418/repo.git")));
  Client client(transport);
  auto refs = loop().run(client.list_refs({}, soon()));
  ASSERT_FALSE(refs);
  EXPECT_EQ(refs.error(), Errc::closed);
  EXPECT_EQ(client.last_error(), "connect to 192.0.2.2:29418: connection refused");
}

} // namespace
} // namespace morgana::git
