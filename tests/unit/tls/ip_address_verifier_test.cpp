#include "morgana/tls/ip_address_verifier.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "morgana/tls/credentials.h"
#include "morgana/tls/errors.h"
#include "test_certs.h"

namespace morgana::tls {
namespace {

using namespace test::certs;

// An inner X.509 engine that takes any chain and records what it was given:
// the verifier under test is driven the way BearSSL's handshake drives it.
struct RecordingEngine {
  const br_x509_class* vtable;
  unsigned verdict = 0;
  std::string server_name = "(not started)";
  std::size_t bytes = 0;
};

RecordingEngine& recording(const br_x509_class* const* context) {
  return *reinterpret_cast<RecordingEngine*>(const_cast<const br_x509_class**>(context));
}

constexpr br_x509_class recording_class = {
    sizeof(RecordingEngine),
    [](const br_x509_class** context, const char* name) { recording(context).server_name = name ? name : "(null)"; },
    [](const br_x509_class**, std::uint32_t) {},
    [](const br_x509_class** context, const unsigned char*, std::size_t length) { recording(context).bytes += length; },
    [](const br_x509_class**) {},
    [](const br_x509_class** context) { return recording(context).verdict; },
    [](const br_x509_class* const*, unsigned*) -> const br_x509_pkey* { return nullptr; },
};

class IpAddressVerifierTest : public ::testing::Test {
protected:
  // Feeds the certificates of `pems` as one chain, in pieces of `piece` bytes; returns end_chain's code.
  unsigned verify(std::vector<std::string_view> pems, std::size_t piece = 100) {
    const br_x509_class** engine = verifier.engine();
    (*engine)->start_chain(engine, "ignored.test");
    for (auto pem : pems) {
      auto chain = MUST(CertificateChain::from_pem(pem));
      const auto& certificate = chain.certificates()[0];
      (*engine)->start_cert(engine, static_cast<std::uint32_t>(certificate.data_len));
      for (std::size_t offset = 0; offset < certificate.data_len; offset += piece) {
        (*engine)->append(engine, certificate.data + offset, std::min(piece, certificate.data_len - offset));
      }
      (*engine)->end_cert(engine);
    }
    return (*engine)->end_chain(engine);
  }

  RecordingEngine inner{&recording_class};
  IpAddressVerifier verifier{&inner.vtable, net::Ipv4Address::from_octets(10, 0, 2, 2)};
};

TEST_F(IpAddressVerifierTest, PassesTheWholeChainOnWithoutAName) {
  EXPECT_EQ(verify({ip_server_pem, ca_pem}, 7), 0u);
  EXPECT_EQ(inner.server_name, "(null)");
  auto leaf = MUST(CertificateChain::from_pem(ip_server_pem));
  auto ca = MUST(CertificateChain::from_pem(ca_pem));
  EXPECT_EQ(inner.bytes, leaf.certificates()[0].data_len + ca.certificates()[0].data_len);
}

TEST_F(IpAddressVerifierTest, ChecksTheEndEntityCertificateOnly) {
  // Another certificate naming the address does not stand in for the first.
  EXPECT_EQ(verify({other_name_pem, ip_server_pem}), unsigned{err_x509_bad_ip_address});
  EXPECT_EQ(verify({ip_bad_san_pem}), unsigned{err_x509_bad_subject_alt_name});
  EXPECT_EQ(verify({ip_server_pem}), 0u) << "a new chain starts afresh";
}

TEST_F(IpAddressVerifierTest, TheInnerEnginesVerdictComesFirst) {
  inner.verdict = BR_ERR_X509_NOT_TRUSTED;
  EXPECT_EQ(verify({ip_server_pem}), unsigned{BR_ERR_X509_NOT_TRUSTED});
  EXPECT_EQ(verify({ip_bad_san_pem}), unsigned{BR_ERR_X509_NOT_TRUSTED});
}

TEST_F(IpAddressVerifierTest, RefusesAnEndEntityCertificateTooLargeToKeep) {
  const br_x509_class** engine = verifier.engine();
  (*engine)->start_chain(engine, nullptr);
  (*engine)->start_cert(engine, IpAddressVerifier::max_certificate_size + 1);
  (*engine)->end_cert(engine);
  EXPECT_EQ((*engine)->end_chain(engine), unsigned{BR_ERR_X509_LIMIT_EXCEEDED});
}

TEST_F(IpAddressVerifierTest, RefusesACertificateShorterThanAnnounced) {
  const br_x509_class** engine = verifier.engine();
  (*engine)->start_chain(engine, nullptr);
  (*engine)->start_cert(engine, 100);
  unsigned char half[50]{};
  (*engine)->append(engine, half, sizeof half);
  (*engine)->end_cert(engine);
  EXPECT_EQ((*engine)->end_chain(engine), unsigned{BR_ERR_X509_TRUNCATED});
}

} // namespace
} // namespace morgana::tls
