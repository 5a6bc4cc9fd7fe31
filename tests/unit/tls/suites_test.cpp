#include "morgana/tls/suites.h"

#include <gtest/gtest.h>

#include <array>
#include <initializer_list>
#include <span>
#include <vector>

namespace morgana::tls {
namespace {

// A suite as BearSSL translates what a client offers (bearssl_ssl.h,
// br_suite_translated): key exchange, encryption, MAC, PRF hash in 4-bit fields.
std::array<std::uint16_t, 2> translated(std::uint16_t id) {
  unsigned exchange = suite_key_type(id) == BR_KEYTYPE_EC ? BR_SSLKEYX_ECDHE_ECDSA : BR_SSLKEYX_ECDHE_RSA;
  unsigned encryption = BR_SSLENC_CHACHA20, prf = BR_SSLPRF_SHA256;
  switch (id) {
  case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
  case BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: encryption = BR_SSLENC_AES128_GCM; break;
  case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
  case BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
    encryption = BR_SSLENC_AES256_GCM;
    prf = BR_SSLPRF_SHA384;
    break;
  default: break;
  }
  return {id, static_cast<std::uint16_t>(exchange << 12 | encryption << 8 | BR_SSLMAC_AEAD << 4 | prf)};
}

struct Offered {
  std::vector<std::array<std::uint16_t, 2>> suites;
  Offered(std::initializer_list<std::uint16_t> ids) {
    for (auto id : ids) suites.push_back(translated(id));
  }
  std::span<const br_suite_translated> span() const {
    return {reinterpret_cast<const br_suite_translated*>(suites.data()), suites.size()};
  }
};

// What OpenSSL 3 offers for TLS 1.2, in its order: AES-256-GCM before ChaCha20 before AES-128-GCM.
const Offered openssl_order{
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
};

std::uint16_t chosen(const Offered& offered, unsigned key_type, bool hardware) {
  const auto* suite = choose_server_suite(offered.span(), key_type, hardware);
  return suite ? (*suite)[0] : 0;
}

TEST(ServerSuite, WithAesHardwareTheClientsFirstChoice) {
  EXPECT_EQ(chosen(openssl_order, BR_KEYTYPE_EC, true), BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384);
  EXPECT_EQ(chosen(openssl_order, BR_KEYTYPE_RSA, true), BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384);
}

TEST(ServerSuite, WithoutAesHardwareChaCha20WhenOffered) {
  EXPECT_EQ(chosen(openssl_order, BR_KEYTYPE_EC, false), BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256);
  EXPECT_EQ(chosen(openssl_order, BR_KEYTYPE_RSA, false), BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256);
}

TEST(ServerSuite, WithoutAesHardwareAesGcmWhenChaCha20IsNotOffered) {
  Offered offered{BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                  BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384};
  // The ChaCha20 suite is for RSA keys: an EC key takes the client's first AES-GCM.
  EXPECT_EQ(chosen(offered, BR_KEYTYPE_EC, false), BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
}

TEST(ServerSuite, NothingForAKeyNoOfferedSuiteSuits) {
  Offered offered{BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256};
  EXPECT_EQ(chosen(offered, BR_KEYTYPE_EC, true), 0);
  EXPECT_EQ(chosen(offered, BR_KEYTYPE_EC, false), 0);
  EXPECT_EQ(chosen(Offered{}, BR_KEYTYPE_EC, false), 0);
}

} // namespace
} // namespace morgana::tls
