// The BearSSL Morgana links has its server's cipher-suite table cut to our
// suites (tools/bearssl_trim, cmake/bearssl.cmake). Two bare BearSSL engines
// in memory show it: a server given one of our suites completes a handshake,
// one given a suite BearSSL has but we cut no longer finds it, which the
// archive as Debian ships it would.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "morgana/tls/credentials.h"
#include "morgana/tls/suites.h"
#include "test_certs.h"

namespace morgana::tls {
namespace {

// Moves one engine's outgoing records into the other; true if anything moved.
bool transfer(br_ssl_engine_context& from, br_ssl_engine_context& to) {
  std::size_t out_length = 0;
  unsigned char* out = br_ssl_engine_sendrec_buf(&from, &out_length);
  if (out_length == 0) return false;
  std::size_t in_length = 0;
  unsigned char* in = br_ssl_engine_recvrec_buf(&to, &in_length);
  std::size_t count = std::min(out_length, in_length);
  if (count == 0) return false;
  std::memcpy(in, out, count);
  br_ssl_engine_sendrec_ack(&from, count);
  br_ssl_engine_recvrec_ack(&to, count);
  return true;
}

// A full handshake between a BearSSL server (BearSSL's full EC profile) and
// client that both have `suite` alone; returns the client's error (0: done).
int handshake_with_only(std::uint16_t suite) {
  auto chain = CertificateChain::from_pem(test::certs::ec_server_pem);
  auto key = PrivateKey::from_pem(test::certs::ec_server_key);
  EXPECT_TRUE(chain.has_value() && key.has_value());
  if (!chain.has_value() || !key.has_value()) return -1;

  br_ssl_server_context server{};
  br_ssl_server_init_full_ec(&server, chain->certificates().data(), chain->size(), BR_KEYTYPE_EC, key->ec());
  br_ssl_engine_set_suites(&server.eng, &suite, 1);
  // The client trusts the server's key itself (no chain validation here).
  std::array<unsigned char, BR_EC_KBUF_PUB_MAX_SIZE> point{};
  br_ec_public_key public_key{};
  EXPECT_NE(br_ec_compute_pub(br_ec_get_default(), &public_key, point.data(), key->ec()), 0u);
  br_x509_knownkey_context known{};
  br_x509_knownkey_init_ec(&known, &public_key, BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN);
  br_ssl_client_context client{};
  br_x509_minimal_context unused_minimal{};
  br_ssl_client_init_full(&client, &unused_minimal, nullptr, 0);
  br_ssl_engine_set_x509(&client.eng, &known.vtable);
  br_ssl_engine_set_suites(&client.eng, &suite, 1);

  std::vector<unsigned char> server_buffer(BR_SSL_BUFSIZE_BIDI), client_buffer(BR_SSL_BUFSIZE_BIDI);
  br_ssl_engine_set_buffer(&server.eng, server_buffer.data(), server_buffer.size(), 1);
  br_ssl_engine_set_buffer(&client.eng, client_buffer.data(), client_buffer.size(), 1);
  constexpr unsigned char seed[32] = {1, 2, 3, 4, 5, 6, 7, 8};
  br_ssl_engine_inject_entropy(&server.eng, seed, sizeof seed);
  br_ssl_engine_inject_entropy(&client.eng, seed, sizeof seed);
  EXPECT_EQ(br_ssl_server_reset(&server), 1);
  EXPECT_EQ(br_ssl_client_reset(&client, "localhost", 0), 1);

  while (transfer(client.eng, server.eng) || transfer(server.eng, client.eng)) {
    if ((br_ssl_engine_current_state(&client.eng) & BR_SSL_SENDAPP) != 0) break;
  }
  if (int error = br_ssl_engine_last_error(&client.eng); error != 0) return error;
  return (br_ssl_engine_current_state(&client.eng) & BR_SSL_SENDAPP) != 0 ? 0 : -1;
}

TEST(BearSslTrim, TheServerStillFindsOurSuites) {
  EXPECT_EQ(handshake_with_only(BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), 0);
}

TEST(BearSslTrim, TheServerNoLongerKnowsASuiteThatWasCut) {
  // Not ours (CBC), but in BearSSL's table and its full EC profile: with the
  // table untouched this handshake completes. Cut, the server finds no suite
  // in common and sends a handshake_failure alert (40).
  constexpr std::uint16_t cut = BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256;
  ASSERT_EQ(std::ranges::count(cipher_suites, cut), 0);
  EXPECT_EQ(handshake_with_only(cut), BR_ERR_RECV_FATAL_ALERT + 40);
}

} // namespace
} // namespace morgana::tls
