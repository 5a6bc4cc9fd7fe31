#pragma once

// What TLS needs from PEM text: a server's certificate chain and private key,
// and the trust anchors a client verifies servers against. Each type owns its
// bytes (vectors) and hands BearSSL views into them; moving keeps the views
// valid (the vectors' buffers move along), copying is not allowed.

#include <bearssl.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/core/result.h"

namespace morgana::tls {

// Certificates from PEM text, in the order they appear ("CERTIFICATE" and
// "X509 CERTIFICATE" objects; others are skipped). A server chain starts
// with the server's own certificate.
class CertificateChain {
public:
  // Errc::not_found "no certificate in PEM"; Errc::malformed for bad base64
  // or a certificate that does not decode as X.509.
  [[nodiscard]] static Result<CertificateChain> from_pem(std::string_view pem);

  CertificateChain(CertificateChain&&) = default;
  CertificateChain& operator=(CertificateChain&&) = default;
  CertificateChain(const CertificateChain&) = delete;
  CertificateChain& operator=(const CertificateChain&) = delete;

  [[nodiscard]] std::span<const br_x509_certificate> certificates() const { return m_certificates; }
  [[nodiscard]] std::size_t size() const { return m_certificates.size(); }
  // The DNS names the first certificate is for (its subjectAltName dNSName
  // entries, RFC 5280 §4.2.1.6), lower case; wildcards stay as "*.example.org".
  [[nodiscard]] const std::vector<std::string>& names() const { return m_names; }
  // BR_KEYTYPE_EC or BR_KEYTYPE_RSA: the type of the first certificate's key.
  [[nodiscard]] unsigned key_type() const { return m_key_type; }

private:
  CertificateChain() = default;
  std::vector<std::vector<unsigned char>> m_der;
  std::vector<br_x509_certificate> m_certificates;
  std::vector<std::string> m_names;
  unsigned m_key_type = 0;
  friend class Credentials;
  std::vector<unsigned char> m_public_key; // EC point or RSA modulus of the first certificate
  int m_curve = 0;
};

// A private key from PEM: EC (P-256, P-384, P-521) or RSA, as PKCS#8
// ("PRIVATE KEY") or the traditional "EC PRIVATE KEY" / "RSA PRIVATE KEY".
class PrivateKey {
public:
  // Errc::not_found "no private key in PEM"; Errc::unsupported "unsupported
  // key type" (other curves, encrypted keys); Errc::malformed otherwise.
  [[nodiscard]] static Result<PrivateKey> from_pem(std::string_view pem);

  PrivateKey(PrivateKey&&) = default;
  PrivateKey& operator=(PrivateKey&&) = default;
  PrivateKey(const PrivateKey&) = delete;
  PrivateKey& operator=(const PrivateKey&) = delete;
  ~PrivateKey();

  // BR_KEYTYPE_EC or BR_KEYTYPE_RSA.
  [[nodiscard]] unsigned type() const { return m_type; }
  [[nodiscard]] const br_ec_private_key* ec() const { return m_type == BR_KEYTYPE_EC ? &m_ec : nullptr; }
  [[nodiscard]] const br_rsa_private_key* rsa() const { return m_type == BR_KEYTYPE_RSA ? &m_rsa : nullptr; }

private:
  PrivateKey() = default;
  std::vector<unsigned char> m_bytes; // the key's numbers, which m_ec / m_rsa point into
  unsigned m_type = 0;
  br_ec_private_key m_ec{};
  br_rsa_private_key m_rsa{};
};

// A server's certificate chain with its private key.
class Credentials {
public:
  // Checks that the key belongs to the first certificate (compares public
  // keys): Errc::invalid_argument "private key does not match certificate".
  [[nodiscard]] static Result<Credentials> from_pem(std::string_view chain_pem, std::string_view key_pem);
  [[nodiscard]] static Result<Credentials> create(CertificateChain chain, PrivateKey key);

  [[nodiscard]] const CertificateChain& chain() const { return m_chain; }
  [[nodiscard]] const PrivateKey& key() const { return m_key; }
  // Whether this chain is for `host` (exact, or a "*.domain" wildcard
  // covering one label, RFC 6125 §6.4.3), ignoring case.
  [[nodiscard]] bool matches(std::string_view host) const;

private:
  Credentials(CertificateChain chain, PrivateKey key) : m_chain(std::move(chain)), m_key(std::move(key)) {}
  CertificateChain m_chain;
  PrivateKey m_key;
};

// Trust anchors from PEM CA certificates (each certificate becomes one
// anchor; a non-CA certificate is trusted as that exact server certificate).
class TrustAnchors {
public:
  // Errc::not_found "no certificate in PEM"; Errc::malformed otherwise.
  [[nodiscard]] static Result<TrustAnchors> from_pem(std::string_view pem);
  // Adds the certificates of another PEM text.
  [[nodiscard]] Result<void> add_pem(std::string_view pem);

  TrustAnchors() = default;
  TrustAnchors(TrustAnchors&&) = default;
  TrustAnchors& operator=(TrustAnchors&&) = default;
  TrustAnchors(const TrustAnchors&) = delete;
  TrustAnchors& operator=(const TrustAnchors&) = delete;

  [[nodiscard]] std::span<const br_x509_trust_anchor> anchors() const { return m_anchors; }
  [[nodiscard]] std::size_t size() const { return m_anchors.size(); }

private:
  // The bytes one anchor points into.
  struct Storage {
    std::vector<unsigned char> dn;
    std::vector<unsigned char> key; // RSA modulus or EC point
    std::vector<unsigned char> exponent;
  };
  std::vector<Storage> m_storage;
  std::vector<br_x509_trust_anchor> m_anchors;
};

} // namespace morgana::tls
