#include "morgana/tls/credentials.h"

#include <algorithm>
#include <cstring>

#include "morgana/core/ascii.h"
#include "morgana/core/bytes.h"
#include "morgana/tls/errors.h"
#include "morgana/tls/subject_alt_name.h"

namespace morgana::tls {
namespace {

struct PemObject {
  std::string name;
  std::vector<unsigned char> der;
};

void append_to_vector(void* context, const void* data, std::size_t length) {
  auto* bytes = static_cast<const unsigned char*>(data);
  static_cast<std::vector<unsigned char>*>(context)->insert(static_cast<std::vector<unsigned char>*>(context)->end(),
                                                            bytes, bytes + length);
}

// Every object in PEM text, decoded (RFC 7468).
Result<std::vector<PemObject>> decode_pem(std::string_view pem) {
  br_pem_decoder_context decoder;
  br_pem_decoder_init(&decoder);
  std::vector<PemObject> objects;
  bool inside = false;
  // BearSSL recognises a line only at its newline: end the text with one.
  auto feed = [&](std::string_view text) -> Result<void> {
    while (!text.empty()) {
      std::size_t taken = br_pem_decoder_push(&decoder, text.data(), text.size());
      text.remove_prefix(taken);
      switch (br_pem_decoder_event(&decoder)) {
      case BR_PEM_BEGIN_OBJ:
        objects.push_back(PemObject{br_pem_decoder_name(&decoder), {}});
        br_pem_decoder_setdest(&decoder, append_to_vector, &objects.back().der);
        inside = true;
        break;
      case BR_PEM_END_OBJ: inside = false; break;
      case BR_PEM_ERROR: return fail(Errc::malformed, "PEM: malformed base64");
      default: break;
      }
    }
    return {};
  };
  TRY(feed(pem));
  TRY(feed("\n"));
  if (inside) return fail(Errc::truncated, "PEM: an object has no END line");
  return objects;
}

bool is_certificate(const PemObject& object) {
  return object.name == "CERTIFICATE" || object.name == "X509 CERTIFICATE";
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::ranges::transform(out, out.begin(), ascii::to_lower);
  return out;
}

// The dNSName entries of a certificate's subjectAltName extension.
Result<std::vector<std::string>> dns_names(Bytes der) {
  auto names = TRY(SubjectAltNames::of(der));
  std::vector<std::string> dns;
  while (!names.at_end()) {
    auto name = TRY(names.next());
    if (name.tag == general_name_dns) dns.push_back(lower(as_string(name.value)));
  }
  return dns;
}

Bytes as_span(const std::vector<unsigned char>& bytes) { return std::as_bytes(std::span(bytes)); }

std::vector<unsigned char> copy(const unsigned char* data, std::size_t length) { return {data, data + length}; }

// Big-endian integers compared without their leading zeros.
bool same_integer(const unsigned char* a, std::size_t a_length, const unsigned char* b, std::size_t b_length) {
  while (a_length > 0 && *a == 0) ++a, --a_length;
  while (b_length > 0 && *b == 0) ++b, --b_length;
  return a_length == b_length && std::memcmp(a, b, a_length) == 0;
}

bool supported_curve(int curve) {
  return curve == BR_EC_secp256r1 || curve == BR_EC_secp384r1 || curve == BR_EC_secp521r1;
}

// Decodes one X.509 certificate; `dn`, when given, receives its subject DN.
Result<void> decode_certificate(br_x509_decoder_context& decoder, const std::vector<unsigned char>& der,
                                std::vector<unsigned char>* dn) {
  br_x509_decoder_init(&decoder, dn ? append_to_vector : nullptr, dn);
  br_x509_decoder_push(&decoder, der.data(), der.size());
  if (int error = br_x509_decoder_last_error(&decoder); error != 0) {
    return fail(Errc::malformed, bearssl_error_message(error));
  }
  const br_x509_pkey* key = br_x509_decoder_get_pkey(&decoder);
  if (key == nullptr) return fail(Errc::malformed, "certificate has no public key");
  if (key->key_type != BR_KEYTYPE_RSA && key->key_type != BR_KEYTYPE_EC) {
    return fail(Errc::unsupported, "certificate: unsupported key type");
  }
  return {};
}

} // namespace

Result<CertificateChain> CertificateChain::from_pem(std::string_view pem) {
  auto objects = TRY(decode_pem(pem));
  CertificateChain chain;
  for (auto& object : objects) {
    if (is_certificate(object)) chain.m_der.push_back(std::move(object.der));
  }
  if (chain.m_der.empty()) return fail(Errc::not_found, "no certificate in PEM");
  br_x509_decoder_context decoder;
  for (std::size_t i = 0; i < chain.m_der.size(); ++i) {
    TRY(decode_certificate(decoder, chain.m_der[i], nullptr));
    if (i == 0) {
      const br_x509_pkey* key = br_x509_decoder_get_pkey(&decoder);
      chain.m_key_type = key->key_type;
      if (key->key_type == BR_KEYTYPE_EC) {
        chain.m_curve = key->key.ec.curve;
        chain.m_public_key = copy(key->key.ec.q, key->key.ec.qlen);
      } else {
        chain.m_public_key = copy(key->key.rsa.n, key->key.rsa.nlen);
      }
      auto names = dns_names(as_span(chain.m_der[0]));
      if (!names) return fail(Errc::malformed, "certificate: malformed subjectAltName");
      chain.m_names = std::move(*names);
    }
  }
  for (auto& der : chain.m_der) chain.m_certificates.push_back(br_x509_certificate{der.data(), der.size()});
  return chain;
}

PrivateKey::~PrivateKey() {
  // Key material does not linger in freed memory.
  volatile unsigned char* bytes = m_bytes.data();
  for (std::size_t i = 0; i < m_bytes.size(); ++i) bytes[i] = 0;
}

Result<PrivateKey> PrivateKey::from_pem(std::string_view pem) {
  auto objects = TRY(decode_pem(pem));
  const PemObject* found = nullptr;
  for (const auto& object : objects) {
    if (object.name == "ENCRYPTED PRIVATE KEY")
      return fail(Errc::unsupported, "encrypted private keys are unsupported");
    if (object.name == "PRIVATE KEY" || object.name == "EC PRIVATE KEY" || object.name == "RSA PRIVATE KEY") {
      found = &object;
      break;
    }
  }
  if (found == nullptr) return fail(Errc::not_found, "no private key in PEM");

  br_skey_decoder_context decoder;
  br_skey_decoder_init(&decoder);
  br_skey_decoder_push(&decoder, found->der.data(), found->der.size());
  int error = br_skey_decoder_last_error(&decoder);
  if (error == BR_ERR_X509_UNSUPPORTED) return fail(Errc::unsupported, "unsupported key type");
  if (error != 0) return fail(Errc::malformed, "private key does not decode");

  PrivateKey key;
  key.m_type = static_cast<unsigned>(br_skey_decoder_key_type(&decoder));
  if (key.m_type == BR_KEYTYPE_EC) {
    const br_ec_private_key* ec = br_skey_decoder_get_ec(&decoder);
    if (!supported_curve(ec->curve)) return fail(Errc::unsupported, "unsupported key type: EC curve");
    key.m_bytes = copy(ec->x, ec->xlen);
    key.m_ec = br_ec_private_key{ec->curve, key.m_bytes.data(), ec->xlen};
  } else if (key.m_type == BR_KEYTYPE_RSA) {
    const br_rsa_private_key* rsa = br_skey_decoder_get_rsa(&decoder);
    key.m_bytes.reserve(rsa->plen + rsa->qlen + rsa->dplen + rsa->dqlen + rsa->iqlen);
    auto append = [&](const unsigned char* data, std::size_t length) {
      std::size_t offset = key.m_bytes.size();
      key.m_bytes.insert(key.m_bytes.end(), data, data + length);
      return offset;
    };
    std::size_t p = append(rsa->p, rsa->plen);
    std::size_t q = append(rsa->q, rsa->qlen);
    std::size_t dp = append(rsa->dp, rsa->dplen);
    std::size_t dq = append(rsa->dq, rsa->dqlen);
    std::size_t iq = append(rsa->iq, rsa->iqlen);
    unsigned char* base = key.m_bytes.data();
    key.m_rsa = br_rsa_private_key{rsa->n_bitlen, base + p,  rsa->plen,  base + q,  rsa->qlen, base + dp,
                                   rsa->dplen,    base + dq, rsa->dqlen, base + iq, rsa->iqlen};
  } else {
    return fail(Errc::unsupported, "unsupported key type");
  }
  // The decoder held the key too.
  volatile unsigned char* scrub = reinterpret_cast<unsigned char*>(&decoder);
  for (std::size_t i = 0; i < sizeof decoder; ++i) scrub[i] = 0;
  return key;
}

Result<Credentials> Credentials::from_pem(std::string_view chain_pem, std::string_view key_pem) {
  auto chain = TRY(CertificateChain::from_pem(chain_pem));
  auto key = TRY(PrivateKey::from_pem(key_pem));
  return create(std::move(chain), std::move(key));
}

Result<Credentials> Credentials::create(CertificateChain chain, PrivateKey key) {
  if (chain.key_type() != key.type()) return fail(Errc::invalid_argument, "private key does not match certificate");
  bool matches = false;
  if (key.type() == BR_KEYTYPE_EC) {
    unsigned char point[BR_EC_KBUF_PUB_MAX_SIZE];
    br_ec_public_key public_key;
    std::size_t length = br_ec_compute_pub(br_ec_get_default(), &public_key, point, key.ec());
    matches = length != 0 && key.ec()->curve == chain.m_curve && length == chain.m_public_key.size() &&
              std::memcmp(point, chain.m_public_key.data(), length) == 0;
  } else {
    br_rsa_compute_modulus compute_modulus = br_rsa_compute_modulus_get_default();
    std::vector<unsigned char> modulus(compute_modulus(nullptr, key.rsa()));
    std::size_t length = modulus.empty() ? 0 : compute_modulus(modulus.data(), key.rsa());
    matches = length != 0 && same_integer(modulus.data(), length, chain.m_public_key.data(), chain.m_public_key.size());
  }
  if (!matches) return fail(Errc::invalid_argument, "private key does not match certificate");
  return Credentials(std::move(chain), std::move(key));
}

bool Credentials::matches(std::string_view host) const {
  std::string wanted = lower(host);
  for (const auto& name : m_chain.names()) {
    if (name == wanted) return true;
    // "*.example.org" covers "www.example.org" but neither "example.org" nor "a.b.example.org".
    if (name.starts_with("*.")) {
      auto dot = wanted.find('.');
      if (dot != std::string::npos && dot > 0 &&
          std::string_view(wanted).substr(dot) == std::string_view(name).substr(1)) {
        return true;
      }
    }
  }
  return false;
}

Result<TrustAnchors> TrustAnchors::from_pem(std::string_view pem) {
  TrustAnchors anchors;
  TRY(anchors.add_pem(pem));
  return anchors;
}

Result<void> TrustAnchors::add_pem(std::string_view pem) {
  auto objects = TRY(decode_pem(pem));
  std::vector<Storage> storage;
  std::vector<br_x509_trust_anchor> anchors;
  br_x509_decoder_context decoder;
  for (const auto& object : objects) {
    if (!is_certificate(object)) continue;
    Storage& bytes = storage.emplace_back();
    TRY(decode_certificate(decoder, object.der, &bytes.dn));
    const br_x509_pkey* key = br_x509_decoder_get_pkey(&decoder);
    br_x509_trust_anchor anchor{};
    anchor.flags = br_x509_decoder_isCA(&decoder) ? BR_X509_TA_CA : 0;
    anchor.pkey.key_type = key->key_type;
    if (key->key_type == BR_KEYTYPE_EC) {
      bytes.key = copy(key->key.ec.q, key->key.ec.qlen);
      anchor.pkey.key.ec = br_ec_public_key{key->key.ec.curve, nullptr, bytes.key.size()};
    } else {
      bytes.key = copy(key->key.rsa.n, key->key.rsa.nlen);
      bytes.exponent = copy(key->key.rsa.e, key->key.rsa.elen);
      anchor.pkey.key.rsa = br_rsa_public_key{nullptr, bytes.key.size(), nullptr, bytes.exponent.size()};
    }
    anchors.push_back(anchor);
  }
  if (anchors.empty()) return fail(Errc::not_found, "no certificate in PEM");
  // Point the anchors at their bytes only now: the vectors above may have moved while growing.
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    auto& anchor = anchors[i];
    auto& bytes = storage[i];
    anchor.dn = br_x500_name{bytes.dn.data(), bytes.dn.size()};
    if (anchor.pkey.key_type == BR_KEYTYPE_EC) {
      anchor.pkey.key.ec.q = bytes.key.data();
    } else {
      anchor.pkey.key.rsa.n = bytes.key.data();
      anchor.pkey.key.rsa.e = bytes.exponent.data();
    }
  }
  for (std::size_t i = 0; i < anchors.size(); ++i) {
    m_storage.push_back(std::move(storage[i]));
    m_anchors.push_back(anchors[i]);
  }
  return {};
}

} // namespace morgana::tls
