#include "morgana/tls/credentials.h"

#include <gtest/gtest.h>

#include <string>

#include "morgana/tls/client.h"
#include "test_certs.h"
#include "tls_test_support.h"

namespace morgana::tls {
namespace {

using namespace test::certs;
using test_support::describe;

std::string_view context_of(const Result<CertificateChain>& result) { return result.error().context; }

TEST(TlsCredentials, ChainKeepsEveryCertificateInOrder) {
  std::string pem = std::string(ec_server_pem) + "\n" + std::string(ca_pem) + "\n";
  auto chain = CertificateChain::from_pem(pem);
  ASSERT_TRUE(chain.has_value()) << describe(chain.error());
  ASSERT_EQ(chain->size(), 2u);
  auto leaf = CertificateChain::from_pem(ec_server_pem);
  auto ca = CertificateChain::from_pem(ca_pem);
  ASSERT_TRUE(leaf && ca);
  auto same = [](const br_x509_certificate& a, const br_x509_certificate& b) {
    return std::string_view(reinterpret_cast<const char*>(a.data), a.data_len) ==
           std::string_view(reinterpret_cast<const char*>(b.data), b.data_len);
  };
  EXPECT_TRUE(same(chain->certificates()[0], leaf->certificates()[0]));
  EXPECT_TRUE(same(chain->certificates()[1], ca->certificates()[0]));
  EXPECT_EQ(chain->key_type(), unsigned{BR_KEYTYPE_EC});
  EXPECT_EQ(chain->names(), (std::vector<std::string>{"localhost", "www.example.test"}));
}

TEST(TlsCredentials, ChainSurvivesBeingMoved) {
  auto chain = MUST(CertificateChain::from_pem(rsa_server_pem));
  auto first = chain.certificates()[0];
  CertificateChain moved = std::move(chain);
  EXPECT_EQ(moved.certificates()[0].data, first.data);
  EXPECT_EQ(moved.key_type(), unsigned{BR_KEYTYPE_RSA});
}

TEST(TlsCredentials, ReportsWhatIsWrongWithThePem) {
  auto empty = CertificateChain::from_pem("just some text\n");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error(), Errc::not_found);
  EXPECT_EQ(context_of(empty), "no certificate in PEM");

  auto keys_only = CertificateChain::from_pem(ec_server_key);
  EXPECT_EQ(context_of(keys_only), "no certificate in PEM");

  auto bad_base64 = CertificateChain::from_pem("-----BEGIN CERTIFICATE-----\nMII$$$$\n-----END CERTIFICATE-----\n");
  ASSERT_FALSE(bad_base64.has_value());
  EXPECT_EQ(bad_base64.error(), Errc::malformed);
  EXPECT_EQ(context_of(bad_base64), "PEM: malformed base64");

  auto not_x509 = CertificateChain::from_pem("-----BEGIN CERTIFICATE-----\nAAECAwQF\n-----END CERTIFICATE-----\n");
  ASSERT_FALSE(not_x509.has_value());
  EXPECT_EQ(not_x509.error(), Errc::malformed);

  std::string cut(ec_server_pem.substr(0, ec_server_pem.find('\n', ec_server_pem.size() / 2)));
  auto truncated = CertificateChain::from_pem(cut);
  ASSERT_FALSE(truncated.has_value());
  EXPECT_EQ(truncated.error().context, "PEM: an object has no END line");
}

TEST(TlsCredentials, LoadsEcAndRsaKeysInBothFormats) {
  for (auto pem : {ec_server_key, ec_server_pkcs8_key}) {
    auto key = PrivateKey::from_pem(pem);
    ASSERT_TRUE(key.has_value()) << describe(key.error());
    EXPECT_EQ(key->type(), unsigned{BR_KEYTYPE_EC});
    ASSERT_NE(key->ec(), nullptr);
    EXPECT_EQ(key->ec()->curve, BR_EC_secp256r1);
    EXPECT_EQ(key->rsa(), nullptr);
  }
  for (auto pem : {rsa_server_key, rsa_server_pkcs8_key}) {
    auto key = PrivateKey::from_pem(pem);
    ASSERT_TRUE(key.has_value()) << describe(key.error());
    EXPECT_EQ(key->type(), unsigned{BR_KEYTYPE_RSA});
    ASSERT_NE(key->rsa(), nullptr);
    EXPECT_EQ(key->rsa()->n_bitlen, 2048u);
  }
}

TEST(TlsCredentials, RejectsKeysItCannotUse) {
  auto none = PrivateKey::from_pem(ca_pem);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error(), Errc::not_found);
  EXPECT_EQ(none.error().context, "no private key in PEM");

  constexpr std::string_view ed25519 = "-----BEGIN PRIVATE KEY-----\n"
                                       "MC4CAQAwBQYDK2VwBCIEIN9ZYL02qh0UuXxrXK46xsX8VHHN070FdWLrr6AHz6Cy\n"
                                       "-----END PRIVATE KEY-----\n";
  auto ed = PrivateKey::from_pem(ed25519);
  ASSERT_FALSE(ed.has_value());
  EXPECT_EQ(ed.error(), Errc::unsupported);
  EXPECT_TRUE(ed.error().context.starts_with("unsupported key type")) << describe(ed.error());

  constexpr std::string_view p224 = "-----BEGIN EC PRIVATE KEY-----\n"
                                    "MGgCAQEEHJAtAGLEYngpm65nA3ogvjxpjt/yN592K6NOQ5WgBwYFK4EEACGhPAM6\n"
                                    "AARGcxTyggvb6hxaPGDVQqwiujEBm2d7zhoD/xazGmOro6oce3oSVGf99XmgPo7n\n"
                                    "06yv73Al6c6sBA==\n"
                                    "-----END EC PRIVATE KEY-----\n";
  auto small_curve = PrivateKey::from_pem(p224);
  ASSERT_FALSE(small_curve.has_value());
  EXPECT_EQ(small_curve.error(), Errc::unsupported);

  auto encrypted = PrivateKey::from_pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE "
                                        "KEY-----\n");
  ASSERT_FALSE(encrypted.has_value());
  EXPECT_EQ(encrypted.error(), Errc::unsupported);
}

TEST(TlsCredentials, KeyMustMatchTheCertificate) {
  EXPECT_TRUE(Credentials::from_pem(ec_server_pem, ec_server_key).has_value());
  EXPECT_TRUE(Credentials::from_pem(rsa_server_pem, rsa_server_pkcs8_key).has_value());
  EXPECT_TRUE(Credentials::from_pem(other_name_pem, other_key).has_value());
  for (auto [chain, key] : {std::pair{ec_server_pem, other_key}, std::pair{ec_server_pem, rsa_server_key},
                            std::pair{rsa_server_pem, ec_server_key}}) {
    auto credentials = Credentials::from_pem(chain, key);
    ASSERT_FALSE(credentials.has_value());
    EXPECT_EQ(credentials.error(), Errc::invalid_argument);
    EXPECT_EQ(credentials.error().context, "private key does not match certificate");
  }
}

TEST(TlsCredentials, MatchesHostNamesExactlyOrByOneWildcardLabel) {
  auto credentials = MUST(Credentials::from_pem(other_name_pem, other_key));
  EXPECT_TRUE(credentials.matches("other.test"));
  EXPECT_TRUE(credentials.matches("OTHER.test"));
  EXPECT_TRUE(credentials.matches("a.wild.test"));
  EXPECT_FALSE(credentials.matches("wild.test"));
  EXPECT_FALSE(credentials.matches("a.b.wild.test"));
  EXPECT_FALSE(credentials.matches(".wild.test"));
  EXPECT_FALSE(credentials.matches("localhost"));
}

TEST(TlsCredentials, TrustAnchorsOwnTheirNamesAndKeys) {
  std::string pem = std::string(ca_pem) + std::string(other_ca_pem);
  auto anchors = TrustAnchors::from_pem(pem);
  ASSERT_TRUE(anchors.has_value()) << describe(anchors.error());
  ASSERT_EQ(anchors->size(), 2u);
  for (const auto& anchor : anchors->anchors()) {
    EXPECT_EQ(anchor.flags, unsigned{BR_X509_TA_CA});
    EXPECT_GT(anchor.dn.len, 0u);
    EXPECT_EQ(anchor.pkey.key_type, BR_KEYTYPE_EC);
    EXPECT_EQ(anchor.pkey.key.ec.qlen, 65u);
  }
  MUST(anchors->add_pem(ec_server_pem));
  ASSERT_EQ(anchors->size(), 3u);
  EXPECT_EQ(anchors->anchors()[2].flags, 0u); // not a CA: trusted as that very certificate
  EXPECT_EQ(TrustAnchors::from_pem("").error().context, "no certificate in PEM");
}

TEST(TlsCredentials, X509TimeCountsDaysFromYearZero) {
  // 1970-01-01 is day 719528 (BearSSL's x509_minimal.c uses the same constant).
  EXPECT_EQ(x509_time(0).days, 719528u);
  EXPECT_EQ(x509_time(0).seconds, 0u);
  // 2000-01-01T00:00:01Z: Python's date(2000,1,1).toordinal() - 1 + 366 = 730485.
  EXPECT_EQ(x509_time(946684801).days, 730485u);
  EXPECT_EQ(x509_time(946684801).seconds, 1u);
  EXPECT_EQ(x509_time(-1).days, 719527u);
  EXPECT_EQ(x509_time(-1).seconds, 86399u);
}

} // namespace
} // namespace morgana::tls
