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
inline constexpr std::array<std::uint16_t, 6> cipher_suite_list = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};
[[nodiscard]] std::span<const std::uint16_t> cipher_suites();
// The type of key that signs for one of our suites' ECDHE: BR_KEYTYPE_EC
// (ECDHE_ECDSA) or BR_KEYTYPE_RSA (ECDHE_RSA).
[[nodiscard]] unsigned suite_key_type(std::uint16_t suite);

// Sets versions (TLS 1.2 only), suites, hashes, PRFs, the EC code, AES-GCM and
// ChaCha20-Poly1305 on a zeroed engine, each the best BearSSL has here.
void configure_engine(br_ssl_engine_context& engine);

// The hash function with BearSSL's id (br_sha256_ID, ...), or null.
[[nodiscard]] const br_hash_class* hash_class(int id);
// Its DigestInfo OID for PKCS#1 v1.5 signatures (BR_HASH_OID_*), or null.
[[nodiscard]] const unsigned char* hash_oid(int id);

} // namespace morgana::tls
