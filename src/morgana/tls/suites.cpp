#include "morgana/tls/suites.h"

#include "morgana/tls/fast_ec.h"

namespace morgana::tls {

unsigned suite_key_type(std::uint16_t suite) {
  switch (suite) {
  case BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:
  case BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:
  case BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: return BR_KEYTYPE_EC;
  default: return BR_KEYTYPE_RSA;
  }
}

bool hardware_aes_gcm() { return br_aes_x86ni_ctr_get_vtable() != nullptr && br_ghash_pclmul_get() != nullptr; }

const br_suite_translated* choose_server_suite(std::span<const br_suite_translated> offered, unsigned key_type,
                                               bool hardware_aes_gcm) {
  const br_suite_translated* first = nullptr;
  for (const auto& suite : offered) {
    if (suite_key_type(suite[0]) != key_type) continue;
    // Bits 8-11 of the translated form: the record encryption (bearssl_ssl.h).
    bool chacha20 = ((suite[1] >> 8) & 0xF) == BR_SSLENC_CHACHA20;
    if (hardware_aes_gcm || chacha20) return &suite;
    if (first == nullptr) first = &suite;
  }
  return first;
}

const br_hash_class* hash_class(int id) {
  switch (id) {
  case br_sha1_ID: return &br_sha1_vtable;
  case br_sha224_ID: return &br_sha224_vtable;
  case br_sha256_ID: return &br_sha256_vtable;
  case br_sha384_ID: return &br_sha384_vtable;
  case br_sha512_ID: return &br_sha512_vtable;
  default: return nullptr;
  }
}

const unsigned char* hash_oid(int id) {
  switch (id) {
  case br_sha1_ID: return BR_HASH_OID_SHA1;
  case br_sha224_ID: return BR_HASH_OID_SHA224;
  case br_sha256_ID: return BR_HASH_OID_SHA256;
  case br_sha384_ID: return BR_HASH_OID_SHA384;
  case br_sha512_ID: return BR_HASH_OID_SHA512;
  default: return nullptr;
  }
}

void configure_engine(br_ssl_engine_context& engine) {
  br_ssl_engine_set_versions(&engine, BR_TLS12, BR_TLS12);
  br_ssl_engine_set_suites(&engine, cipher_suites.data(), cipher_suites.size());
  // The handshake transcript and signatures; SHA-1 only for peers' signatures.
  for (int id : {br_sha1_ID, br_sha224_ID, br_sha256_ID, br_sha384_ID, br_sha512_ID}) {
    br_ssl_engine_set_hash(&engine, id, hash_class(id));
  }
  br_ssl_engine_set_prf_sha256(&engine, &br_tls12_sha256_prf);
  br_ssl_engine_set_prf_sha384(&engine, &br_tls12_sha384_prf);
  // Each default picks at run time (checked in BearSSL 0.6's ssl_engine_default_*.c
  // and Debian's libbearssl.a, which has the x86ni/pclmul/sse2/ctmulq objects):
  // ECDHE: fast_ec() (nettle's x86_64 code for P-256 and X25519, br_ec_all_m31
  // for the rest; m31 is the fastest EC code Debian's libbearssl.a has). A
  // server picks X25519 whenever the client offers it: BearSSL 0.6's server
  // prefers Curve25519, then P-256, P-384, P-521 (ssl_hs_server.t0,
  // write-ServerKeyExchange), whatever the client's order;
  // AES-GCM: br_aes_x86ni_ctr_get_vtable() and br_ghash_pclmul_get() when the
  // CPU has AES-NI/PCLMULQDQ, else br_aes_ct64_ctr_vtable and br_ghash_ctmul64;
  // ChaCha20-Poly1305: br_chacha20_sse2_get() and br_poly1305_ctmulq_get().
  br_ssl_engine_set_ec(&engine, &fast_ec());
  br_ssl_engine_set_default_aes_gcm(&engine);
  br_ssl_engine_set_default_chapol(&engine);
  // The peer's ServerKeyExchange signature (client side). Not
  // br_ssl_engine_set_default_ecdsa(), which also puts br_ec_all_m31 back as
  // the engine's EC code (ssl_engine_default_ecdsa.c).
  br_ssl_engine_set_default_rsavrfy(&engine);
  br_ssl_engine_set_ecdsa(&engine, br_ecdsa_vrfy_asn1_get_default());
}

} // namespace morgana::tls
