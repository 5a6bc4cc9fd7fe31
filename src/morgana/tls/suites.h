#pragma once

// What both sides of our TLS speak: TLS 1.2 only, ECDHE with AEAD suites,
// and the hash functions that sign and verify.

#include <bearssl.h>

#include <array>
#include <cstdint>
#include <span>

namespace morgana::tls {

// Our suites in order of preference (RFC 5289 §3.2, RFC 7905 §2). The server
// handshake code Morgana links knows these suites only (tools/bearssl_trim).
inline constexpr std::array<std::uint16_t, 6> cipher_suites = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};
// The type of key that signs for one of our suites' ECDHE: BR_KEYTYPE_EC
// (ECDHE_ECDSA) or BR_KEYTYPE_RSA (ECDHE_RSA).
[[nodiscard]] unsigned suite_key_type(std::uint16_t suite);

// Whether BearSSL has hardware code for both halves of AES-GCM on this CPU
// (AES-NI: br_aes_x86ni_ctr_get_vtable; PCLMULQDQ: br_ghash_pclmul_get).
[[nodiscard]] bool hardware_aes_gcm();

// The suite a server takes from the client's (`offered`, as BearSSL translated
// them, in the client's order) for a key of `key_type`, or null: the client's
// first that the key can sign for; but without hardware AES-GCM its first
// ChaCha20-Poly1305 suite if it offers one, since AES-GCM then runs in
// constant-time software (ct64 AES, ctmul64 GHASH), several times slower than
// SSE2 ChaCha20 (BoringSSL's servers decide the same way).
[[nodiscard]] const br_suite_translated* choose_server_suite(std::span<const br_suite_translated> offered,
                                                             unsigned key_type, bool hardware_aes_gcm);

// Sets versions (TLS 1.2 only), suites, hashes, PRFs, the EC code, AES-GCM and
// ChaCha20-Poly1305 on a zeroed engine, each the best BearSSL has here.
void configure_engine(br_ssl_engine_context& engine);

// The hash function with BearSSL's id (br_sha256_ID, ...), or null.
[[nodiscard]] const br_hash_class* hash_class(int id);
// Its DigestInfo OID for PKCS#1 v1.5 signatures (BR_HASH_OID_*), or null.
[[nodiscard]] const unsigned char* hash_oid(int id);

} // namespace morgana::tls
