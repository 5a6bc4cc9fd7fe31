#pragma once

// Faster elliptic-curve code for TLS handshakes, behind BearSSL's own hooks so
// that the engine stays BearSSL's. Debian's libbearssl.a has only the portable
// m15/m31 curve code; nettle/hogweed (with GMP's mpn layer) has x86_64
// assembly for P-256 and Curve25519 and is 4-7x faster here (bench/ec_speed.c,
// docs/BENCHMARKS.md). Everything nettle does not do, or inputs outside what
// its public API takes, goes to BearSSL's m31/i31 code unchanged.

#include <bearssl.h>

#include <cstddef>

namespace morgana::tls {

// A br_ec_impl for every curve br_ec_all_m31 supports: mulgen and mul on
// P-256 and Curve25519 through nettle (ECDHE, both sides), the rest
// (muladd for ECDSA verification, other curves, odd scalar lengths) through
// br_ec_all_m31. Results are byte for byte those of br_ec_all_m31.
[[nodiscard]] const br_ec_impl& fast_ec();

// A br_ecdsa_sign: P-256 keys sign through nettle with BearSSL's own RFC 6979
// nonce (HMAC_DRBG over the key and the reduced hash), so the signature is
// the one br_ecdsa_i31_sign_asn1 gives for the same key and hash; other
// curves go to br_ecdsa_i31_sign_asn1. `sig` needs room for the ASN.1
// signature (72 bytes for P-256). Returns its length, or 0 on a bad key.
std::size_t fast_ecdsa_sign_asn1(const br_ec_impl* impl, const br_hash_class* hash, const void* hash_value,
                                 const br_ec_private_key* key, void* sig);

} // namespace morgana::tls
