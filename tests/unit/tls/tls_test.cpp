// Our TLS server and client talking over in-memory streams.

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "fake_network.h"
#include "memory_stream.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/random.h"
#include "morgana/tls/client.h"
#include "morgana/tls/errors.h"
#include "morgana/tls/server.h"
#include "morgana/tls/suites.h"
#include "sim.h"
#include "test_certs.h"
#include "tls_test_support.h"

namespace morgana::tls {
namespace {

using namespace test::certs;
using test_support::describe;

std::vector<std::byte> pattern(std::size_t size, unsigned seed = 1) {
  std::vector<std::byte> data(size);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& byte : data) {
    x = x * 1664525u + 1013904223u;
    byte = std::byte(x >> 24);
  }
  return data;
}

Task<Result<std::vector<std::byte>>> read_all(net::Stream& stream, Instant deadline = far_future) {
  std::vector<std::byte> all;
  std::byte chunk[3000];
  for (;;) {
    std::size_t count = CO_TRY(co_await stream.read(chunk, deadline));
    if (count == 0) co_return all;
    all.insert(all.end(), chunk, chunk + count);
  }
}

// Echoes until the end of the stream, then closes; records how it ended.
struct EchoOutcome {
  Result<void> result;
  bool done = false;
  std::string server_name;
  std::string protocol;
  bool resumed = false;
  std::uint16_t suite = 0;
};

Task<void> echo(std::unique_ptr<Stream> stream, EchoOutcome& outcome) {
  std::byte chunk[5000];
  for (;;) {
    auto count = co_await stream->read(chunk);
    if (!count) {
      outcome.result = std::unexpected(count.error());
      break;
    }
    outcome.server_name = stream->server_name();
    outcome.protocol = stream->selected_protocol();
    outcome.resumed = stream->resumed();
    outcome.suite = stream->cipher_suite();
    if (*count == 0) {
      outcome.result = stream->shutdown();
      break;
    }
    if (auto written = co_await stream->write(std::span(chunk, *count)); !written) {
      outcome.result = std::unexpected(written.error());
      break;
    }
  }
  outcome.done = true;
}

Task<void> write_all(net::Stream& stream, std::vector<std::byte> data) { MUST(co_await stream.write(data)); }

Task<Result<std::vector<std::byte>>> read_exactly(net::Stream& stream, std::size_t size) {
  std::vector<std::byte> all(size);
  for (std::size_t done = 0; done < size;) {
    std::size_t count = CO_TRY(co_await stream.read(std::span(all).subspan(done)));
    if (count == 0) co_return fail(Errc::truncated, "end of stream");
    done += count;
  }
  co_return all;
}

// Sends `data` while reading its echo, then closes (TLS has no half-close:
// after our close_notify the peer's data is discarded, RFC 5246 §7.2.1).
Result<std::vector<std::byte>> round_trip(net::Stream& stream, const std::vector<std::byte>& data) {
  loop().spawn(write_all(stream, data));
  auto echoed = loop().run(read_exactly(stream, data.size()));
  MUST(stream.shutdown());
  auto rest = loop().run(read_all(stream));
  if (!rest) return std::unexpected(rest.error());
  if (!rest->empty()) return fail(Errc::malformed, "more than was sent");
  return echoed;
}

// A server certificate our client refuses: connecting to `name` fails with
// `errc` and `context`, counted under `code`.
struct Rejection {
  std::string_view chain;
  std::string_view key;
  std::string name;
  int code;
  std::string_view context;
  Errc errc = Errc::invalid_argument;
};

class TlsTest : public ::testing::Test {
protected:
  void SetUp() override {
    sim::reset();
    random::reset();
    anchors = std::make_shared<TrustAnchors>(MUST(TrustAnchors::from_pem(ca_pem)));
  }
  void TearDown() override { loop().destroy_spawned(); }

  static std::unique_ptr<ServerContext> server_with(std::vector<std::pair<std::string_view, std::string_view>> pems,
                                                    std::vector<std::string> alpn = {}) {
    ServerConfig config;
    for (auto [chain, key] : pems) config.credentials.push_back(MUST(Credentials::from_pem(chain, key)));
    config.alpn = std::move(alpn);
    return MUST(ServerContext::create(std::move(config)));
  }

  ClientConfig client_config(std::string name = "localhost") {
    ClientConfig config;
    config.trust_anchors = anchors;
    config.server_name = std::move(name);
    return config;
  }

  // Starts an echo server on one end of a fresh pair; returns the client end.
  std::unique_ptr<net::Stream> start_echo(ServerContext& context, EchoOutcome& outcome) {
    auto pair = test::make_stream_pair();
    loop().spawn(echo(MUST(accept(std::move(pair.server), context)), outcome));
    return std::move(pair.client);
  }

  Result<std::unique_ptr<Stream>> connect_to(ServerContext& context, EchoOutcome& outcome, ClientConfig config) {
    return loop().run(connect(start_echo(context, outcome), std::move(config), MonotonicClock::now() + 10s));
  }

  // Each server fails the handshake as said; the server side ends too.
  void expect_rejections(std::span<const Rejection> cases) {
    for (const auto& rejection : cases) {
      auto server = server_with({{rejection.chain, rejection.key}});
      auto before = handshake_failure_counter(rejection.code).value();
      EchoOutcome outcome;
      auto client = connect_to(*server, outcome, client_config(rejection.name));
      ASSERT_FALSE(client.has_value()) << rejection.context;
      EXPECT_EQ(client.error(), rejection.errc) << rejection.context;
      EXPECT_EQ(client.error().context, rejection.context);
      EXPECT_EQ(handshake_failure_counter(rejection.code).value(), before + 1);
      test_support::settle(1s);
      EXPECT_TRUE(outcome.done);
      EXPECT_FALSE(outcome.result.has_value());
    }
  }

  std::shared_ptr<TrustAnchors> anchors;
};

TEST_F(TlsTest, HandshakeAndLargeTransfersBothWays) {
  auto server = server_with({{ec_server_pem, ec_server_key}});
  auto handshakes = server_handshakes.value();
  EchoOutcome outcome;
  auto client = connect_to(*server, outcome, client_config());
  ASSERT_TRUE(client.has_value()) << describe(client.error());
  EXPECT_TRUE((*client)->handshake_done());
  EXPECT_EQ((*client)->cipher_suite(), BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);

  // Far more than one 16 KiB record, written in one call while the echo comes back.
  auto data = pattern(300'000);
  auto echoed = round_trip(**client, data);
  ASSERT_TRUE(echoed.has_value()) << describe(echoed.error());
  EXPECT_EQ(*echoed, data);
  ASSERT_TRUE(outcome.done);
  EXPECT_TRUE(outcome.result.has_value()) << describe(outcome.result.error());
  EXPECT_EQ(server_handshakes.value(), handshakes + 1);
  EXPECT_FALSE(outcome.resumed);
}

TEST_F(TlsTest, RsaCertificateUsesEcdheRsa) {
  auto server = server_with({{rsa_server_pem, rsa_server_key}});
  EchoOutcome outcome;
  auto client = connect_to(*server, outcome, client_config("www.example.test"));
  ASSERT_TRUE(client.has_value()) << describe(client.error());
  EXPECT_EQ((*client)->cipher_suite(), BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256);
  auto data = pattern(40'000, 2);
  auto echoed = round_trip(**client, data);
  ASSERT_TRUE(echoed.has_value()) << describe(echoed.error());
  EXPECT_EQ(*echoed, data);
}

// Each suite alone: the server hashes the rest of the transcript only with the
// suite's PRF hash (SHA-384 for the AES-256 suites, SHA-256 otherwise), so a
// wrong choice fails the Finished messages; it hashes what it signs itself,
// with SHA-256 (the first our client lists), whatever the PRF.
TEST_F(TlsTest, EachSuiteAloneCompletesTheHandshakeAndCarriesData) {
  auto ec = server_with({{ec_server_pem, ec_server_key}});
  auto rsa = server_with({{rsa_server_pem, rsa_server_key}});
  for (std::uint16_t suite : cipher_suites) {
    bool ecdsa = suite == BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ||
                 suite == BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 ||
                 suite == BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256;
    EchoOutcome outcome;
    auto config = client_config(ecdsa ? "localhost" : "www.example.test");
    config.cipher_suites = {suite};
    auto client = connect_to(ecdsa ? *ec : *rsa, outcome, std::move(config));
    ASSERT_TRUE(client.has_value()) << "suite " << suite << ": " << describe(client.error());
    EXPECT_EQ((*client)->cipher_suite(), suite);
    auto data = pattern(20'000, suite);
    auto echoed = round_trip(**client, data);
    ASSERT_TRUE(echoed.has_value()) << "suite " << suite << ": " << describe(echoed.error());
    EXPECT_EQ(*echoed, data);
    EXPECT_EQ(outcome.suite, suite);
  }
}

TEST_F(TlsTest, ClientOffersOnlyOurSuitesEachOnce) {
  auto server = server_with({{ec_server_pem, ec_server_key}});
  for (std::vector<std::uint16_t> suites : {std::vector<std::uint16_t>{BR_TLS_RSA_WITH_AES_128_GCM_SHA256},
                                            std::vector<std::uint16_t>{BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                                                                       BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}) {
    EchoOutcome outcome;
    auto config = client_config();
    config.cipher_suites = suites;
    auto client = connect_to(*server, outcome, std::move(config));
    ASSERT_FALSE(client.has_value());
    EXPECT_EQ(client.error(), Errc::invalid_argument);
    EXPECT_EQ(client.error().context, "TLS client: cipher suites to offer must be ours, each once");
  }
}

TEST_F(TlsTest, AlpnPicksTheProtocolBothSpeak) {
  auto server = server_with({{ec_server_pem, ec_server_key}}, {"h2", "http/1.1"});
  EchoOutcome outcome;
  auto config = client_config();
  config.alpn = {"http/1.1"};
  auto client = connect_to(*server, outcome, std::move(config));
  ASSERT_TRUE(client.has_value()) << describe(client.error());
  EXPECT_EQ((*client)->selected_protocol(), "http/1.1");
  MUST((*client)->shutdown());
  auto rest = loop().run(read_all(**client));
  ASSERT_TRUE(rest.has_value()) << describe(rest.error());
  EXPECT_EQ(outcome.protocol, "http/1.1");

  EchoOutcome other;
  auto unknown = client_config();
  unknown.alpn = {"spdy/3"};
  auto without = connect_to(*server, other, std::move(unknown));
  ASSERT_TRUE(without.has_value()) << describe(without.error());
  EXPECT_EQ((*without)->selected_protocol(), "");
}

TEST_F(TlsTest, SniPicksTheMatchingCertificateAndFallsBackToTheFirst) {
  auto server =
      server_with({{ec_server_pem, ec_server_key}, {other_name_pem, other_key}, {rsa_server_pem, rsa_server_key}});
  for (std::string name : {"other.test", "x.wild.test", "localhost", "www.example.test"}) {
    EchoOutcome outcome;
    // Our client checks the certificate's names: success means the server chose right.
    auto client = connect_to(*server, outcome, client_config(name));
    ASSERT_TRUE(client.has_value()) << name << ": " << describe(client.error());
    EXPECT_EQ((*client)->cipher_suite(), BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
    MUST((*client)->shutdown());
    (void)loop().run(read_all(**client));
    EXPECT_EQ(outcome.server_name, name);
  }
  // An unknown name gets the first certificate, which our client then refuses.
  EchoOutcome outcome;
  auto client = connect_to(*server, outcome, client_config("unknown.test"));
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error().context, "certificate is for another host name (BR_ERR_X509_BAD_SERVER_NAME)");
}

TEST_F(TlsTest, SecondConnectionResumesTheSession) {
  auto server = server_with({{ec_server_pem, ec_server_key}});
  ClientSession session;
  auto resumptions = server_resumptions.value();
  for (int round = 0; round < 2; ++round) {
    EchoOutcome outcome;
    auto config = client_config();
    config.session = &session;
    auto client = connect_to(*server, outcome, std::move(config));
    ASSERT_TRUE(client.has_value()) << describe(client.error());
    EXPECT_EQ((*client)->resumed(), round == 1);
    EXPECT_TRUE(session.valid);
    auto data = pattern(1000, 3);
    auto echoed = round_trip(**client, data);
    ASSERT_TRUE(echoed.has_value()) << describe(echoed.error());
    EXPECT_EQ(*echoed, data);
    EXPECT_EQ(outcome.resumed, round == 1);
  }
  EXPECT_EQ(server_resumptions.value(), resumptions + 1);
}

TEST_F(TlsTest, ClientRejectsBadCertificatesSayingWhy) {
  const Rejection cases[] = {
      {expired_pem, ec_server_key, "localhost", BR_ERR_X509_EXPIRED,
       "certificate expired or not yet valid (BR_ERR_X509_EXPIRED)"},
      {untrusted_pem, ec_server_key, "localhost", BR_ERR_X509_NOT_TRUSTED,
       "certificate chain is not trusted: no trust anchor signs it (BR_ERR_X509_NOT_TRUSTED)"},
      {ec_server_pem, ec_server_key, "wrong.test", BR_ERR_X509_BAD_SERVER_NAME,
       "certificate is for another host name (BR_ERR_X509_BAD_SERVER_NAME)"},
  };
  expect_rejections(cases);
}

TEST_F(TlsTest, AServerReachedByIpAddressIsCheckedAgainstItsIpAddressNamesWithoutSni) {
  // ip_server names localhost, fd00::2 and 10.0.2.2.
  auto server = server_with({{ip_server_pem, ec_server_key}});
  for (std::string name : {"10.0.2.2", "localhost"}) {
    EchoOutcome outcome;
    auto client = connect_to(*server, outcome, client_config(name));
    ASSERT_TRUE(client.has_value()) << name << ": " << describe(client.error());
    auto data = pattern(2000, 5);
    auto echoed = round_trip(**client, data);
    ASSERT_TRUE(echoed.has_value()) << describe(echoed.error());
    EXPECT_EQ(*echoed, data);
    // RFC 6066 §3: no SNI for an address; a host name still goes out.
    EXPECT_EQ(outcome.server_name, name == "localhost" ? name : "");
  }
  // The iPAddress must be equal: 253.0.0.0 is not fd00::2 cut to four octets.
  auto before = handshake_failure_counter(err_x509_bad_ip_address).value();
  for (std::string name : {"10.0.2.3", "253.0.0.0"}) {
    EchoOutcome outcome;
    auto client = connect_to(*server, outcome, client_config(name));
    ASSERT_FALSE(client.has_value()) << name;
    EXPECT_EQ(client.error(), Errc::invalid_argument);
    EXPECT_EQ(client.error().context,
              "certificate not valid for the IP address connected to (err_x509_bad_ip_address)");
  }
  EXPECT_EQ(handshake_failure_counter(err_x509_bad_ip_address).value(), before + 2);
}

TEST_F(TlsTest, ClientRefusesCertificatesNotNamingTheIpAddressSayingWhy) {
  constexpr std::string_view not_named =
      "certificate not valid for the IP address connected to (err_x509_bad_ip_address)";
  const Rejection cases[] = {
      // DNS names only.
      {other_name_pem, other_key, "10.0.2.2", err_x509_bad_ip_address, not_named},
      // The address as a dNSName, as scripts/make-test-certs once wrote it: not an iPAddress.
      {ip_as_dns_name_pem, ec_server_key, "10.0.2.2", err_x509_bad_ip_address, not_named},
      // The address as the Common Name, without a subjectAltName.
      {ip_common_name_pem, ec_server_key, "10.0.2.2", err_x509_bad_ip_address, not_named},
      // An iPAddress of one octet after the matching one.
      {ip_bad_san_pem, ec_server_key, "10.0.2.2", err_x509_bad_subject_alt_name,
       "certificate: malformed subjectAltName (err_x509_bad_subject_alt_name)", Errc::malformed},
      // The chain is verified first, as for a host name.
      {expired_pem, ec_server_key, "127.0.0.1", BR_ERR_X509_EXPIRED,
       "certificate expired or not yet valid (BR_ERR_X509_EXPIRED)"},
      {untrusted_pem, ec_server_key, "127.0.0.1", BR_ERR_X509_NOT_TRUSTED,
       "certificate chain is not trusted: no trust anchor signs it (BR_ERR_X509_NOT_TRUSTED)"},
  };
  expect_rejections(cases);
  // ec_server names 127.0.0.1 beside its DNS names.
  auto server = server_with({{ec_server_pem, ec_server_key}});
  EchoOutcome outcome;
  auto client = connect_to(*server, outcome, client_config("127.0.0.1"));
  EXPECT_TRUE(client.has_value()) << describe(client.error());
}

TEST_F(TlsTest, ClientRefusesIpv6AddressesAsServerNames) {
  auto pair = test::make_stream_pair();
  auto client = loop().run(connect(std::move(pair.client), client_config("::1"), MonotonicClock::now() + 1s));
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error(), Errc::unsupported);
}

TEST_F(TlsTest, ClientTrustsTheRightCaOnly) {
  auto server = server_with({{untrusted_pem, ec_server_key}});
  anchors =
      std::make_shared<TrustAnchors>(MUST(TrustAnchors::from_pem(std::string(ca_pem) + std::string(other_ca_pem))));
  EchoOutcome outcome;
  auto client = connect_to(*server, outcome, client_config());
  EXPECT_TRUE(client.has_value()) << describe(client.error());
}

TEST_F(TlsTest, CloseNotifyEndsTheStreamAndTruncationIsAnError) {
  auto server = server_with({{ec_server_pem, ec_server_key}});
  EchoOutcome outcome;
  auto client = connect_to(*server, outcome, client_config());
  ASSERT_TRUE(client.has_value()) << describe(client.error());
  // Our close_notify: the server reads the end, answers with its own, and we read 0.
  MUST((*client)->shutdown());
  auto rest = loop().run(read_all(**client));
  ASSERT_TRUE(rest.has_value()) << describe(rest.error());
  EXPECT_TRUE(rest->empty());
  EXPECT_TRUE(outcome.done);
  EXPECT_TRUE(outcome.result.has_value());
  auto write = loop().run((*client)->write(pattern(10)));
  EXPECT_EQ(write.error(), Errc::closed);
}

// Forwards to a stream the test keeps, so the test can end the transport
// under a TLS stream without close_notify.
class Borrowed final : public net::Stream {
public:
  explicit Borrowed(net::Stream& inner) : m_inner(inner) {}
  Task<Result<std::size_t>> read(MutableBytes out, Instant deadline) override { return m_inner.read(out, deadline); }
  Task<Result<void>> write(Bytes data, Instant deadline) override { return m_inner.write(data, deadline); }
  Result<void> shutdown() override { return m_inner.shutdown(); }
  void abort() override { m_inner.abort(); }
  void set_nodelay(bool) override {}
  void set_keepalive(std::optional<Duration>) override {}
  net::Endpoint local() const override { return m_inner.local(); }
  net::Endpoint remote() const override { return m_inner.remote(); }

private:
  net::Stream& m_inner;
};

TEST_F(TlsTest, TransportEndWithoutCloseNotifyIsTruncation) {
  auto server = server_with({{ec_server_pem, ec_server_key}});
  auto pair = test::make_stream_pair();
  EchoOutcome outcome;
  loop().spawn(echo(MUST(accept(std::make_unique<Borrowed>(*pair.server), *server)), outcome));
  auto client = loop().run(connect(std::move(pair.client), client_config(), MonotonicClock::now() + 10s));
  ASSERT_TRUE(client.has_value()) << describe(client.error());
  MUST(pair.server->shutdown()); // TCP FIN under the server's TLS, no close_notify
  std::byte buffer[100];
  auto read = loop().run((*client)->read(buffer));
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error(), Errc::closed);
  EXPECT_EQ(read.error().context, "TLS: peer closed without close_notify (truncated)");
  loop().destroy_spawned(); // the echo task holds the Borrowed stream
}

TEST_F(TlsTest, HandshakeWaitsForTheCallersDeadline) {
  auto pair = test::make_stream_pair();
  auto start = MonotonicClock::now();
  auto client = loop().run(connect(std::move(pair.client), client_config(), start + 3s));
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error(), Errc::timed_out);
  EXPECT_GE(MonotonicClock::now() - start, 3s);

  // The server side: a read bounded by its deadline while the client says nothing.
  auto server = server_with({{ec_server_pem, ec_server_key}});
  auto quiet = test::make_stream_pair();
  auto stream = MUST(accept(std::move(quiet.server), *server));
  std::byte buffer[10];
  auto read = loop().run(stream->read(buffer, MonotonicClock::now() + 2s));
  EXPECT_EQ(read.error(), Errc::timed_out);
}

TEST_F(TlsTest, GarbageFromTheClientFailsTheHandshakeCleanly) {
  auto server = server_with({{ec_server_pem, ec_server_key}});
  for (std::string garbage : {std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), std::string(5000, '\x16'),
                              std::string("\x16\x03\x01\x00\x05hello", 10), std::string(1, '\x80')}) {
    auto pair = test::make_stream_pair();
    auto stream = MUST(accept(std::move(pair.server), *server));
    MUST(loop().run(pair.client->write(as_bytes(garbage))));
    MUST(pair.client->shutdown());
    std::byte buffer[100];
    auto read = loop().run(stream->read(buffer, MonotonicClock::now() + 5s));
    ASSERT_FALSE(read.has_value()) << garbage.size();
    EXPECT_NE(read.error(), Errc::timed_out);
    EXPECT_FALSE(stream->handshake_done());
  }
}

TEST_F(TlsTest, ServerNeedsEntropy) {
  sim::set_entropy_available(false);
  random::reset();
  ServerConfig config;
  config.credentials.push_back(MUST(Credentials::from_pem(ec_server_pem, ec_server_key)));
  auto context = ServerContext::create(std::move(config));
  ASSERT_FALSE(context.has_value());
  EXPECT_EQ(context.error(), Errc::no_entropy);
  EXPECT_TRUE(context.error().context.starts_with("TLS needs entropy"));

  auto pair = test::make_stream_pair();
  auto client = loop().run(connect(std::move(pair.client), client_config(), MonotonicClock::now() + 1s));
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error(), Errc::no_entropy);
}

// More than any heap holds (tests/unit/asan_options.cpp lets ASan say so with null).
constexpr std::size_t unaffordable_buffer = std::size_t{1} << 52;

TEST_F(TlsTest, AServerConnectionWithoutMemoryForItsEngineIsClosedAndCounted) {
  ServerConfig config;
  config.credentials.push_back(MUST(Credentials::from_pem(ec_server_pem, ec_server_key)));
  config.buffer_size = unaffordable_buffer;
  auto server = MUST(ServerContext::create(std::move(config)));
  auto before = server_no_memory.value();
  auto pair = test::make_stream_pair();
  auto stream = accept(std::move(pair.server), *server);
  ASSERT_FALSE(stream.has_value());
  EXPECT_EQ(stream.error(), Errc::no_memory);
  EXPECT_EQ(server_no_memory.value(), before + 1);
  std::byte buffer[10];
  auto read = loop().run(pair.client->read(buffer, MonotonicClock::now() + 1s));
  ASSERT_FALSE(read.has_value()) << "the transport is aborted";
  EXPECT_EQ(read.error(), Errc::closed);
}

TEST_F(TlsTest, TheListenerClosesConnectionsWithoutMemoryAndGoesOn) {
  ServerConfig config;
  config.credentials.push_back(MUST(Credentials::from_pem(ec_server_pem, ec_server_key)));
  config.buffer_size = unaffordable_buffer;
  auto server = MUST(ServerContext::create(std::move(config)));
  test::FakeNetwork network;
  net::Endpoint endpoint{network.address(), 443};
  Listener listener(network.listen(endpoint), *server);
  auto first = loop().run(network.tcp_connect(endpoint, MonotonicClock::now() + 1s));
  auto second = loop().run(network.tcp_connect(endpoint, MonotonicClock::now() + 1s));
  ASSERT_TRUE(first.has_value() && second.has_value());
  auto before = server_no_memory.value();
  auto accepted = loop().run(listener.accept(MonotonicClock::now() + 1s));
  ASSERT_FALSE(accepted.has_value());
  EXPECT_EQ(accepted.error(), Errc::timed_out) << "not the no_memory of one connection";
  EXPECT_EQ(server_no_memory.value(), before + 2);
}

TEST_F(TlsTest, AClientWithoutMemoryForItsEngineFailsWithNoMemory) {
  auto config = client_config();
  config.buffer_size = unaffordable_buffer;
  auto pair = test::make_stream_pair();
  auto client = loop().run(connect(std::move(pair.client), std::move(config), MonotonicClock::now() + 1s));
  ASSERT_FALSE(client.has_value());
  EXPECT_EQ(client.error(), Errc::no_memory);
  std::byte buffer[10];
  auto read = loop().run(pair.server->read(buffer, MonotonicClock::now() + 1s));
  ASSERT_FALSE(read.has_value()) << "the transport is aborted";
  EXPECT_EQ(read.error(), Errc::closed);
}

TEST_F(TlsTest, ServerNeedsCredentials) {
  auto context = ServerContext::create(ServerConfig{});
  EXPECT_EQ(context.error(), Errc::invalid_argument);
}

} // namespace
} // namespace morgana::tls
