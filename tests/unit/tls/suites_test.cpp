#include "morgana/tls/suites.h"

#include <gtest/gtest.h>

#include <array>
#include <span>
#include <vector>

namespace morgana::tls {
namespace {

// BearSSL's translated forms (bearssl_ssl.h, br_suite_translated): key
// exchange, encryption, MAC, PRF hash in 4-bit fields.
constexpr std::uint16_t translated(unsigned exchange, unsigned encryption, unsigned prf) {
  return static_cast<std::uint16_t>(exchange << 12 | encryption << 8 | BR_SSLMAC_AEAD << 4 | prf);
}

struct Offered {
  std::vector<std::array<std::uint16_t, 2>> suites;
  void add(std::uint16_t id, std::uint16_t form) { suites.push_back({id, form}); }
  std::span<const br_suite_translated> span() const {
    return {reinterpret_cast<const br_suite_translated*>(suites.data()), suites.size()};
  }
};

// What OpenSSL 3 offers for TLS 1.2, in its order: AES-256-GCM before ChaCha20 before AES-128-GCM.
Offered openssl_order() {
  Offered offered;
  offered.add(BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
              translated(BR_SSLKEYX_ECDHE_ECDSA, BR_SSLENC_AES256_GCM, BR_SSLPRF_SHA384));
  offered.add(BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
              translated(BR_SSLKEYX_ECDHE_RSA, BR_SSLENC_AES256_GCM, BR_SSLPRF_SHA384));
  offered.add(BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
              translated(BR_SSLKEYX_ECDHE_ECDSA, BR_SSLENC_CHACHA20, BR_SSLPRF_SHA256));
  offered.add(BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
              translated(BR_SSLKEYX_ECDHE_RSA, BR_SSLENC_CHACHA20, BR_SSLPRF_SHA256));
  offered.add(BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
              translated(BR_SSLKEYX_ECDHE_ECDSA, BR_SSLENC_AES128_GCM, BR_SSLPRF_SHA256));
  return offered;
}

std::uint16_t chosen(const Offered& offered, unsigned key_type, bool hardware) {
  const auto* suite = choose_server_suite(offered.span(), key_type, hardware);
  return suite ? (*suite)[0] : 0;
}

TEST(ServerSuite, WithAesHardwareTheClientsFirstChoice) {
  auto offered = openssl_order();
  EXPECT_EQ(chosen(offered, BR_KEYTYPE_EC, true), BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384);
  EXPECT_EQ(chosen(offered, BR_KEYTYPE_RSA, true), BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384);
}

TEST(ServerSuite, WithoutAesHardwareChaCha20WhenOffered) {
  auto offered = openssl_order();
  EXPECT_EQ(chosen(offered, BR_KEYTYPE_EC, false), BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256);
  EXPECT_EQ(chosen(offered, BR_KEYTYPE_RSA, false), BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256);
}

TEST(ServerSuite, WithoutAesHardwareAesGcmWhenChaCha20IsNotOffered) {
  Offered offered;
  offered.add(BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
              translated(BR_SSLKEYX_ECDHE_RSA, BR_SSLENC_CHACHA20, BR_SSLPRF_SHA256));
  offered.add(BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
              translated(BR_SSLKEYX_ECDHE_ECDSA, BR_SSLENC_AES128_GCM, BR_SSLPRF_SHA256));
  offered.add(BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
              translated(BR_SSLKEYX_ECDHE_ECDSA, BR_SSLENC_AES256_GCM, BR_SSLPRF_SHA384));
  // The ChaCha20 suite is for RSA keys: an EC key takes the client's first AES-GCM.
  EXPECT_EQ(chosen(offered, BR_KEYTYPE_EC, false), BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
}

TEST(ServerSuite, NothingForAKeyNoOfferedSuiteSuits) {
  Offered offered;
  offered.add(BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
              translated(BR_SSLKEYX_ECDHE_RSA, BR_SSLENC_AES128_GCM, BR_SSLPRF_SHA256));
  EXPECT_EQ(chosen(offered, BR_KEYTYPE_EC, true), 0);
  EXPECT_EQ(chosen(offered, BR_KEYTYPE_EC, false), 0);
  EXPECT_EQ(chosen(Offered{}, BR_KEYTYPE_EC, false), 0);
}

} // namespace
} // namespace morgana::tls
