// Loads the input as TLS credentials: first as PEM text (certificate chain,
// private key, trust anchors, both together), then, to reach the X.509 and
// key decoders with arbitrary DER, wrapped in PEM as a certificate and as a
// private key.

#include <bearssl.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/tls/credentials.h"

using namespace morgana;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void load_all(std::string_view pem) {
  if (auto chain = tls::CertificateChain::from_pem(pem)) {
    check(chain->size() > 0);
    for (const auto& certificate : chain->certificates()) check(certificate.data != nullptr);
  }
  if (auto key = tls::PrivateKey::from_pem(pem)) check(key->ec() != nullptr || key->rsa() != nullptr);
  if (auto anchors = tls::TrustAnchors::from_pem(pem)) check(anchors->size() > 0);
  (void)tls::Credentials::from_pem(pem, pem);
}

std::string wrap(const std::uint8_t* data, std::size_t size, const char* banner) {
  std::string pem(br_pem_encode(nullptr, data, size, banner, 0), '\0');
  br_pem_encode(pem.data(), data, size, banner, 0);
  return pem;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  load_all(std::string_view(reinterpret_cast<const char*>(data), size));
  load_all(wrap(data, size, "CERTIFICATE"));
  load_all(wrap(data, size, "PRIVATE KEY"));
  return 0;
}
