#include "morgana/tls/ip_address_verifier.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "morgana/core/memory.h"
#include "morgana/tls/errors.h"
#include "morgana/tls/subject_alt_name.h"

namespace morgana::tls {

const br_x509_class IpAddressVerifier::vtable = {
    sizeof(IpAddressVerifier), start_chain, start_cert, append, end_cert, end_chain, get_pkey,
};

IpAddressVerifier::IpAddressVerifier(const br_x509_class** inner, net::Ipv4Address address)
    : m_inner(inner), m_address(address) {}

IpAddressVerifier& IpAddressVerifier::self(const br_x509_class* const* context) {
  static_assert(std::is_standard_layout_v<Engine>);
  return *reinterpret_cast<const Engine*>(context)->verifier;
}

void IpAddressVerifier::start_chain(const br_x509_class** context, const char*) {
  auto& verifier = self(context);
  verifier.m_certificate.reset();
  verifier.m_certificate_size = 0;
  verifier.m_received = 0;
  verifier.m_certificates = 0;
  verifier.m_failure = 0;
  // No name for the inner engine: it would look for a dNSName.
  (*verifier.m_inner)->start_chain(verifier.m_inner, nullptr);
}

void IpAddressVerifier::start_cert(const br_x509_class** context, std::uint32_t length) {
  auto& verifier = self(context);
  (*verifier.m_inner)->start_cert(verifier.m_inner, length);
  // The end-entity certificate comes first (RFC 5246 §7.4.2); only it names the server.
  if (verifier.m_certificates++ != 0 || verifier.m_failure != 0) return;
  if (length > max_certificate_size) {
    verifier.m_failure = BR_ERR_X509_LIMIT_EXCEEDED;
    return;
  }
  auto buffer = try_make_unique<std::byte[]>("TLS: end-entity certificate", length);
  if (!buffer) {
    verifier.m_failure = err_x509_no_memory;
    return;
  }
  verifier.m_certificate = std::move(*buffer);
  verifier.m_certificate_size = length;
}

void IpAddressVerifier::append(const br_x509_class** context, const unsigned char* data, std::size_t length) {
  auto& verifier = self(context);
  (*verifier.m_inner)->append(verifier.m_inner, data, length);
  if (verifier.m_certificates != 1 || !verifier.m_certificate) return;
  // The engine appends no more than start_cert announced; stay within it regardless.
  std::size_t count = std::min(length, verifier.m_certificate_size - verifier.m_received);
  std::memcpy(verifier.m_certificate.get() + verifier.m_received, data, count);
  verifier.m_received += count;
}

void IpAddressVerifier::end_cert(const br_x509_class** context) {
  auto& verifier = self(context);
  (*verifier.m_inner)->end_cert(verifier.m_inner);
}

unsigned IpAddressVerifier::end_chain(const br_x509_class** context) {
  auto& verifier = self(context);
  // The chain must verify first: a name in an untrusted certificate means nothing.
  if (unsigned error = (*verifier.m_inner)->end_chain(verifier.m_inner); error != 0) return error;
  if (verifier.m_failure != 0) return verifier.m_failure;
  if (!verifier.m_certificate || verifier.m_received != verifier.m_certificate_size) return BR_ERR_X509_TRUNCATED;
  Bytes der(verifier.m_certificate.get(), verifier.m_certificate_size);
  auto named = certificate_names_ip_address(der, verifier.m_address);
  verifier.m_certificate.reset();
  if (!named) return err_x509_bad_subject_alt_name;
  return *named ? 0 : err_x509_bad_ip_address;
}

const br_x509_pkey* IpAddressVerifier::get_pkey(const br_x509_class* const* context, unsigned* usages) {
  const auto& verifier = self(context);
  return (*verifier.m_inner)->get_pkey(verifier.m_inner, usages);
}

} // namespace morgana::tls
