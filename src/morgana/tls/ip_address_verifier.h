#pragma once

// The X.509 engine for a server reached by IPv4 address: another engine
// (br_x509_minimal) verifies the chain without any name, as BearSSL matches
// names against dNSName entries only; then the end-entity certificate must
// have a subjectAltName iPAddress equal to the address (RFC 2818 §3.1,
// RFC 9525 §6.2.1), or end_chain fails with err_x509_bad_ip_address
// (errors.h).
//
// It keeps the end-entity certificate's DER while the chain arrives (up to
// max_certificate_size, allocated fallibly: err_x509_no_memory) and reads it
// with certificate_names_ip_address (subject_alt_name.h).

#include <bearssl.h>

#include <cstddef>
#include <memory>

#include "morgana/net/ipv4_address.h"

namespace morgana::tls {

class IpAddressVerifier {
public:
  // Larger end-entity certificates fail with BR_ERR_X509_LIMIT_EXCEEDED.
  static constexpr std::size_t max_certificate_size = 64 * 1024;

  // `inner` (e.g. &minimal.vtable) must outlive this.
  IpAddressVerifier(const br_x509_class** inner, net::Ipv4Address address);
  // The engine keeps the address of m_engine.
  IpAddressVerifier(const IpAddressVerifier&) = delete;
  IpAddressVerifier& operator=(const IpAddressVerifier&) = delete;

  // For br_ssl_engine_set_x509.
  [[nodiscard]] const br_x509_class** engine() { return &m_engine.vtable; }

private:
  static IpAddressVerifier& self(const br_x509_class* const* context);
  static void start_chain(const br_x509_class** context, const char* server_name);
  static void start_cert(const br_x509_class** context, std::uint32_t length);
  static void append(const br_x509_class** context, const unsigned char* data, std::size_t length);
  static void end_cert(const br_x509_class** context);
  static unsigned end_chain(const br_x509_class** context);
  static const br_x509_pkey* get_pkey(const br_x509_class* const* context, unsigned* usages);
  // The vtable BearSSL calls: these functions.
  static const br_x509_class vtable;

  // What BearSSL holds: it passes &vtable as the context, and self() finds
  // the verifier from there (a standard-layout struct shares its address
  // with its first member).
  struct Engine {
    const br_x509_class* vtable;
    IpAddressVerifier* verifier;
  };
  Engine m_engine{&vtable, this};
  const br_x509_class** m_inner;
  net::Ipv4Address m_address;
  std::unique_ptr<std::byte[]> m_certificate; // the end-entity certificate's DER
  std::size_t m_certificate_size = 0;         // as announced by start_cert
  std::size_t m_received = 0;                 // of it, appended so far
  std::size_t m_certificates = 0;             // started in this chain
  unsigned m_failure = 0;                     // found while the chain arrived, reported by end_chain
};

} // namespace morgana::tls
