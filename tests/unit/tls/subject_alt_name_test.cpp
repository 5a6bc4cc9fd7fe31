#include "morgana/tls/subject_alt_name.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "morgana/tls/credentials.h"
#include "test_certs.h"
#include "tls_test_support.h"

namespace morgana::tls {
namespace {

using namespace test::certs;
using test_support::describe;
using Der = std::vector<std::byte>;

constexpr auto address = net::Ipv4Address::from_octets(10, 0, 2, 2);

// The end-entity certificate's DER from a PEM fixture.
Der der_of(std::string_view pem) {
  auto chain = MUST(CertificateChain::from_pem(pem));
  const auto& certificate = chain.certificates()[0];
  auto bytes = std::as_bytes(std::span(certificate.data, certificate.data_len));
  return {bytes.begin(), bytes.end()};
}

Der bytes(std::initializer_list<int> values) {
  Der out;
  for (int value : values) out.push_back(std::byte(value));
  return out;
}

Der cat(std::initializer_list<Der> parts) {
  Der out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// A DER element with its length in the fewest octets (up to 0xffff).
Der element(int tag, const Der& content) {
  Der out{std::byte(tag)};
  if (content.size() < 0x80) {
    out.push_back(std::byte(content.size()));
  } else if (content.size() <= 0xff) {
    out.insert(out.end(), {std::byte{0x81}, std::byte(content.size())});
  } else {
    out.insert(out.end(), {std::byte{0x82}, std::byte(content.size() >> 8), std::byte(content.size() & 0xff)});
  }
  return cat({out, content});
}

Der sequence(std::initializer_list<Der> parts) { return element(0x30, cat(parts)); }

const Der san_oid = element(0x06, bytes({0x55, 0x1d, 0x11}));
const Der ip_10_0_2_2 = element(0x87, bytes({10, 0, 2, 2}));

Der extension(const Der& oid, const Der& value) { return sequence({oid, element(0x04, value)}); }

// A certificate's outline as the reader walks it: version, serial and
// algorithm stand for the fields before the extensions (their content is not read).
Der certificate_with(std::initializer_list<Der> extensions) {
  Der fields = cat({element(0xa0, element(0x02, bytes({2}))), element(0x02, bytes({1})), sequence({})});
  Der tbs = extensions.size() == 0 ? sequence({fields}) : sequence({fields, element(0xa3, sequence(extensions))});
  return sequence({tbs, sequence({}), element(0x03, bytes({0}))});
}

Result<bool> names_address(const Der& der) { return certificate_names_ip_address(der, address); }

TEST(SubjectAltName, IpAddressEntriesMatchExactly) {
  auto ip_server = der_of(ip_server_pem);
  auto named = names_address(ip_server);
  ASSERT_TRUE(named.has_value()) << describe(named.error());
  EXPECT_TRUE(*named);
  EXPECT_FALSE(MUST(certificate_names_ip_address(ip_server, net::Ipv4Address::from_octets(10, 0, 2, 3))));
  // fd00::2 begins with these four octets: an IPv6 entry never matches an IPv4 address.
  EXPECT_FALSE(MUST(certificate_names_ip_address(ip_server, net::Ipv4Address::from_octets(0xfd, 0, 0, 0))));
  EXPECT_TRUE(MUST(certificate_names_ip_address(der_of(ec_server_pem), net::Ipv4Address::from_octets(127, 0, 0, 1))));
}

TEST(SubjectAltName, NamesOtherThanIpAddressEntriesDoNotCount) {
  EXPECT_FALSE(MUST(names_address(der_of(other_name_pem))));     // DNS names only
  EXPECT_FALSE(MUST(names_address(der_of(ip_as_dns_name_pem)))); // DNS:10.0.2.2
  EXPECT_FALSE(MUST(names_address(der_of(ip_common_name_pem)))); // CN=10.0.2.2, no subjectAltName
  EXPECT_FALSE(MUST(names_address(certificate_with({}))));       // no extensions at all
}

TEST(SubjectAltName, ListsEveryGeneralNameInOrder) {
  auto der = der_of(ip_server_pem);
  auto names = MUST(SubjectAltNames::of(der));
  std::vector<std::pair<int, std::size_t>> seen;
  while (!names.at_end()) {
    auto name = MUST(names.next());
    seen.emplace_back(name.tag, name.value.size());
  }
  EXPECT_EQ(seen, (std::vector<std::pair<int, std::size_t>>{{0x82, 9}, {0x87, 16}, {0x87, 4}}));
  EXPECT_TRUE(MUST(SubjectAltNames::of(der_of(ip_common_name_pem))).at_end());
}

TEST(SubjectAltName, ReadsACriticalSubjectAltNameAmongOtherExtensions) {
  auto other = extension(element(0x06, bytes({0x55, 0x1d, 0x13})), bytes({0xff, 0xff})); // not read
  auto critical = sequence({san_oid, element(0x01, bytes({0xff})), element(0x04, sequence({ip_10_0_2_2}))});
  EXPECT_TRUE(MUST(names_address(certificate_with({other, critical}))));
}

struct Malformed {
  const char* what;
  Der der;
  std::string_view context;
};

TEST(SubjectAltName, RefusesMalformedDerSayingWhy) {
  auto good = certificate_with({extension(san_oid, sequence({ip_10_0_2_2}))});
  ASSERT_TRUE(MUST(names_address(good)));
  Der indefinite = good;
  indefinite[1] = std::byte{0x80};
  Der long_length = good;
  long_length[1] = std::byte{0x84};
  Der too_long = good;
  too_long[1] = std::byte(std::to_integer<int>(too_long[1]) + 1);
  const Malformed cases[] = {
      {"one-octet iPAddress after a match", der_of(ip_bad_san_pem),
       "certificate: subjectAltName iPAddress neither 4 nor 16 octets"},
      {"empty subjectAltName", certificate_with({extension(san_oid, sequence({}))}),
       "certificate: empty subjectAltName"},
      {"two subjectAltNames",
       certificate_with({extension(san_oid, sequence({ip_10_0_2_2})), extension(san_oid, sequence({ip_10_0_2_2}))}),
       "certificate: two subjectAltName extensions"},
      {"subjectAltName not a SEQUENCE", certificate_with({extension(san_oid, element(0x31, ip_10_0_2_2))}),
       "certificate: subjectAltName is not a SEQUENCE"},
      {"bytes after the GeneralNames",
       certificate_with({extension(san_oid, cat({sequence({ip_10_0_2_2}), bytes({0})}))}),
       "certificate: bytes after the subjectAltName"},
      {"extension value not an OCTET STRING", certificate_with({sequence({san_oid, sequence({ip_10_0_2_2})})}),
       "certificate: an extension's value is not an OCTET STRING"},
      {"extension without an OID", certificate_with({sequence({element(0x04, sequence({ip_10_0_2_2}))})}),
       "certificate: an extension without an OID"},
      {"bytes after the certificate", cat({good, bytes({0})}), "certificate: bytes after the certificate"},
      {"indefinite length", indefinite, "certificate DER: bad length form"},
      {"four length octets", long_length, "certificate DER: bad length form"},
      {"length past the end", too_long, "certificate DER: element longer than what holds it"},
      {"length not in the fewest octets", cat({bytes({0x30, 0x81, 0x05}), sequence({sequence({})})}),
       "certificate DER: length not in the fewest octets"},
      {"multi-octet tag", bytes({0x3f, 0x01, 0x00}), "certificate DER: multi-octet tag"},
      {"empty input", {}, "certificate DER: truncated element header"},
  };
  for (const auto& bad : cases) {
    auto result = names_address(bad.der);
    ASSERT_FALSE(result.has_value()) << bad.what;
    EXPECT_EQ(result.error(), Errc::malformed) << bad.what;
    EXPECT_EQ(result.error().context, bad.context) << bad.what;
  }
}

TEST(SubjectAltName, EveryTruncationOfACertificateIsMalformed) {
  auto der = der_of(ip_server_pem);
  for (std::size_t size = 0; size < der.size(); ++size) {
    auto result = certificate_names_ip_address(std::span(der).first(size), address);
    ASSERT_FALSE(result.has_value()) << size << " of " << der.size() << " bytes";
    EXPECT_EQ(result.error(), Errc::malformed);
  }
}

} // namespace
} // namespace morgana::tls
