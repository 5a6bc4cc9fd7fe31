// Our server refuses what it does not speak: clients configured (with BearSSL's
// own full client) to offer only old protocol versions or only CBC suites.

#include <gtest/gtest.h>

#include <vector>

#include "memory_stream.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/random.h"
#include "morgana/tls/errors.h"
#include "morgana/tls/server.h"
#include "sim.h"
#include "test_certs.h"
#include "tls_test_support.h"

namespace morgana::tls {
namespace {

using namespace test::certs;
using test_support::describe;

// BearSSL's "full" client (every version and suite it has), narrowed by the test.
class BearSslClient final : public Stream {
public:
  BearSslClient(std::unique_ptr<net::Stream> transport, const TrustAnchors& anchors, unsigned version_min,
                unsigned version_max, const std::vector<std::uint16_t>& suites)
      : Stream(m_client.eng, BR_SSL_BUFSIZE_BIDI) {
    br_ssl_client_init_full(&m_client, &m_x509, anchors.anchors().data(), anchors.size());
    br_ssl_engine_set_versions(&m_client.eng, version_min, version_max);
    if (!suites.empty()) br_ssl_engine_set_suites(&m_client.eng, suites.data(), suites.size());
    MUST(prepare_engine(std::move(transport)));
    if (!br_ssl_client_reset(&m_client, "localhost", 0)) (void)fail_start(bearssl_error(last_error()));
  }
  ~BearSslClient() override { close_on_destroy(); }

private:
  void on_handshake_done() override {}
  void on_handshake_failed(const Error&) override {}
  br_ssl_client_context m_client{};
  br_x509_minimal_context m_x509{};
};

class TlsRefusalTest : public ::testing::Test {
protected:
  void SetUp() override {
    sim::reset();
    random::reset();
    ServerConfig config;
    config.credentials.push_back(MUST(Credentials::from_pem(ec_server_pem, ec_server_key)));
    config.credentials.push_back(MUST(Credentials::from_pem(rsa_server_pem, rsa_server_key)));
    server = MUST(ServerContext::create(std::move(config)));
    anchors = MUST(TrustAnchors::from_pem(ca_pem));
  }
  void TearDown() override { loop().destroy_spawned(); }

  struct Outcome {
    Result<void> client;
    Result<std::size_t> server;
  };

  Outcome run(unsigned version_min, unsigned version_max, const std::vector<std::uint16_t>& suites = {}) {
    auto pair = test::make_stream_pair();
    auto server_stream = MUST(accept(std::move(pair.server), *server));
    BearSslClient client(std::move(pair.client), anchors, version_min, version_max, suites);
    std::byte buffer[10];
    auto deadline = MonotonicClock::now() + 10s;
    auto server_task = [](Stream& stream, MutableBytes out, Instant until, Result<std::size_t>& result) -> Task<void> {
      result = co_await stream.read(out, until);
    };
    Outcome outcome{{}, 0};
    loop().spawn(server_task(*server_stream, buffer, deadline, outcome.server));
    outcome.client = loop().run(client.handshake(deadline));
    test_support::settle(1s);
    loop().destroy_spawned(); // the server's read, if still waiting, before its stream goes
    return outcome;
  }

  std::unique_ptr<ServerContext> server;
  TrustAnchors anchors;
};

TEST_F(TlsRefusalTest, TheTestClientConnectsWithTls12) {
  auto outcome = run(BR_TLS12, BR_TLS12);
  EXPECT_TRUE(outcome.client.has_value()) << describe(outcome.client.error());
}

TEST_F(TlsRefusalTest, RefusesTls10AndTls11) {
  for (auto [low, high] :
       {std::pair{BR_TLS10, BR_TLS10}, std::pair{BR_TLS11, BR_TLS11}, std::pair{BR_TLS10, BR_TLS11}}) {
    auto before = handshake_failure_counter(BR_ERR_SEND_FATAL_ALERT + 70).value();
    auto outcome = run(low, high);
    EXPECT_FALSE(outcome.client.has_value());
    ASSERT_FALSE(outcome.server.has_value());
    EXPECT_EQ(outcome.server.error(), Errc::unsupported) << describe(outcome.server.error());
    EXPECT_EQ(outcome.server.error().context, "sent fatal alert protocol_version");
    EXPECT_EQ(handshake_failure_counter(BR_ERR_SEND_FATAL_ALERT + 70).value(), before + 1);
  }
}

TEST_F(TlsRefusalTest, RefusesCbcOnlyClients) {
  std::vector<std::uint16_t> cbc = {
      BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
      BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,    BR_TLS_RSA_WITH_AES_128_CBC_SHA,
      BR_TLS_RSA_WITH_AES_128_GCM_SHA256, // not CBC, but RSA key exchange: refused too
  };
  auto before = handshake_failure_counter(BR_ERR_SEND_FATAL_ALERT + 40).value();
  auto outcome = run(BR_TLS12, BR_TLS12, cbc);
  EXPECT_FALSE(outcome.client.has_value());
  ASSERT_FALSE(outcome.server.has_value());
  EXPECT_EQ(outcome.server.error(), Errc::unsupported) << describe(outcome.server.error());
  EXPECT_EQ(outcome.server.error().context, "sent fatal alert handshake_failure");
  EXPECT_EQ(handshake_failure_counter(BR_ERR_SEND_FATAL_ALERT + 40).value(), before + 1);
}

TEST_F(TlsRefusalTest, TakesEachOfOurSuites) {
  for (auto suite : {BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                     BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                     BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}) {
    auto outcome = run(BR_TLS12, BR_TLS12, {static_cast<std::uint16_t>(suite)});
    EXPECT_TRUE(outcome.client.has_value()) << suite << " " << describe(outcome.client.error());
  }
}

} // namespace
} // namespace morgana::tls
