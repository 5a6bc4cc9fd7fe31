#pragma once

// The subjectAltName of an X.509 certificate (RFC 5280 §4.2.1.6), read from
// its DER: the DNS names a server's credentials answer SNI for, and the
// iPAddress entries a server reached by IP address must be named by
// (RFC 2818 §3.1, RFC 9525 §6.2.1), which BearSSL's br_x509_minimal does not
// check (it matches dNSName entries only). The Common Name is never consulted.
//
// The bytes may come from the peer: every length is checked against what
// encloses it, and anything that is not DER as RFC 5280 lays it out is
// Errc::malformed (with a sentence) rather than skipped: a certificate's
// outline up to its extensions, each extension's, a subjectAltName that
// appears twice or is empty.

#include <cstdint>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::tls {

// GeneralName tags (context-specific, IMPLICIT; RFC 5280 §4.2.1.6).
inline constexpr std::uint8_t general_name_dns = 0x82;        // dNSName [2] IA5String
inline constexpr std::uint8_t general_name_ip_address = 0x87; // iPAddress [7] OCTET STRING

struct GeneralName {
  std::uint8_t tag;
  Bytes value; // the content octets: "example.org", the address's 4 or 16 octets
};

// The GeneralNames of a certificate's subjectAltName, read one at a time
// (nothing is allocated).
class SubjectAltNames {
public:
  // Those of `certificate` (one DER Certificate): none when it has no
  // subjectAltName.
  [[nodiscard]] static Result<SubjectAltNames> of(Bytes certificate);

  [[nodiscard]] bool at_end() const { return m_names.at_end(); }
  [[nodiscard]] Result<GeneralName> next();

private:
  explicit SubjectAltNames(ByteReader names) : m_names(names) {}
  ByteReader m_names;
};

// Whether `certificate` has a subjectAltName iPAddress equal to `address`:
// false when it has none or only others. An iPAddress neither 4 nor 16 octets
// long is Errc::malformed.
[[nodiscard]] Result<bool> certificate_names_ip_address(Bytes certificate, net::Ipv4Address address);

} // namespace morgana::tls
