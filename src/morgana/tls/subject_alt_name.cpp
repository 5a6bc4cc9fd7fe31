#include "morgana/tls/subject_alt_name.h"

#include <algorithm>
#include <array>
#include <optional>

namespace morgana::tls {
namespace {

// Identifier octets (X.690 §8.1.2) of the elements on the way to the GeneralNames.
constexpr std::uint8_t tag_boolean = 0x01;
constexpr std::uint8_t tag_octet_string = 0x04;
constexpr std::uint8_t tag_oid = 0x06;
constexpr std::uint8_t tag_sequence = 0x30;
// tbsCertificate's `extensions [3] EXPLICIT` (RFC 5280 §4.1).
constexpr std::uint8_t tag_extensions = 0xa3;
// id-ce-subjectAltName, 2.5.29.17, as its OID content octets.
constexpr std::array<std::byte, 3> subject_alt_name_oid{std::byte{0x55}, std::byte{0x1d}, std::byte{0x11}};

struct Element {
  std::uint8_t tag;
  Bytes content;
};

std::unexpected<Error> malformed(std::string_view why) { return fail(Errc::malformed, why); }

// One DER element (X.690 §8.1, §10.1): a one-octet tag and a definite length
// in the fewest octets, its content within what `reader` holds.
Result<Element> read_element(ByteReader& reader) {
  auto tag = reader.u8();
  auto first = reader.u8();
  if (!tag || !first) return malformed("certificate DER: truncated element header");
  // High tag numbers (0x1f) appear nowhere in a certificate's outline.
  if ((*tag & 0x1f) == 0x1f) return malformed("certificate DER: multi-octet tag");
  std::size_t length = *first;
  if (*first & 0x80) {
    // Three length octets reach 16 MiB, past any certificate TLS carries
    // (RFC 5246 §7.4.2: 24-bit lengths); 0x80 would be BER's indefinite form.
    std::size_t octets = *first & 0x7f;
    if (octets == 0 || octets > 3) return malformed("certificate DER: bad length form");
    length = 0;
    for (std::size_t i = 0; i < octets; ++i) {
      auto octet = reader.u8();
      if (!octet) return malformed("certificate DER: truncated length");
      if (i == 0 && *octet == 0) return malformed("certificate DER: length not in the fewest octets");
      length = (length << 8) | *octet;
    }
    if (length < 0x80) return malformed("certificate DER: length not in the fewest octets");
  }
  auto content = reader.bytes(length);
  if (!content) return malformed("certificate DER: element longer than what holds it");
  return Element{*tag, *content};
}

// The content of the next element, which must have `tag`.
Result<ByteReader> expect(ByteReader& reader, std::uint8_t tag, std::string_view what) {
  auto element = TRY(read_element(reader));
  if (element.tag != tag) return malformed(what);
  return ByteReader(element.content);
}

// The extensions of a tbsCertificate (its SEQUENCE's content), or nothing
// for a certificate without them (RFC 5280 §4.1: a v1 or v2 certificate).
Result<std::optional<ByteReader>> find_extensions(ByteReader tbs) {
  while (!tbs.at_end()) {
    auto element = TRY(read_element(tbs));
    if (element.tag != tag_extensions) continue;
    ByteReader wrapper(element.content);
    auto extensions = TRY(expect(wrapper, tag_sequence, "certificate: extensions are not a SEQUENCE"));
    if (!wrapper.at_end()) return malformed("certificate: bytes after the extensions");
    return extensions;
  }
  return std::nullopt;
}

// The GeneralNames SEQUENCE's content in a subjectAltName's extnValue.
Result<ByteReader> general_names(Bytes extension_value) {
  ByteReader value(extension_value);
  auto names = TRY(expect(value, tag_sequence, "certificate: subjectAltName is not a SEQUENCE"));
  if (!value.at_end()) return malformed("certificate: bytes after the subjectAltName");
  // GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName.
  if (names.at_end()) return malformed("certificate: empty subjectAltName");
  return names;
}

} // namespace

Result<SubjectAltNames> SubjectAltNames::of(Bytes certificate) {
  ByteReader input(certificate);
  auto whole = TRY(expect(input, tag_sequence, "certificate: not a SEQUENCE"));
  if (!input.at_end()) return malformed("certificate: bytes after the certificate");
  auto tbs = TRY(expect(whole, tag_sequence, "certificate: tbsCertificate is not a SEQUENCE"));
  auto extensions = TRY(find_extensions(tbs));
  if (!extensions) return SubjectAltNames(ByteReader({}));

  std::optional<ByteReader> names;
  while (!extensions->at_end()) {
    // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }.
    auto extension = TRY(expect(*extensions, tag_sequence, "certificate: an extension is not a SEQUENCE"));
    auto id = TRY(read_element(extension));
    if (id.tag != tag_oid) return malformed("certificate: an extension without an OID");
    auto value = TRY(read_element(extension));
    if (value.tag == tag_boolean) value = TRY(read_element(extension));
    if (value.tag != tag_octet_string) return malformed("certificate: an extension's value is not an OCTET STRING");
    if (!extension.at_end()) return malformed("certificate: bytes after an extension's value");
    if (!std::ranges::equal(id.content, subject_alt_name_oid)) continue;
    // RFC 5280 §4.2: an extension appears at most once in a certificate.
    if (names) return malformed("certificate: two subjectAltName extensions");
    names = TRY(general_names(value.content));
  }
  return SubjectAltNames(names.value_or(ByteReader({})));
}

Result<GeneralName> SubjectAltNames::next() {
  auto element = TRY(read_element(m_names));
  return GeneralName{element.tag, element.content};
}

Result<bool> certificate_names_ip_address(Bytes certificate, net::Ipv4Address address) {
  auto names = TRY(SubjectAltNames::of(certificate));
  // Every entry is read, so that a malformed one fails wherever the match is.
  bool found = false;
  while (!names.at_end()) {
    auto name = TRY(names.next());
    if (name.tag != general_name_ip_address) continue;
    // Four octets for IPv4, sixteen for IPv6 (RFC 5280 §4.2.1.6).
    if (name.value.size() != 4 && name.value.size() != 16) {
      return malformed("certificate: subjectAltName iPAddress neither 4 nor 16 octets");
    }
    if (name.value.size() == 4 && load_be32(name.value.data()) == address.value) found = true;
  }
  return found;
}

} // namespace morgana::tls
