#include "morgana/tls/fast_ec.h"

#include <gmp.h>
#include <nettle/curve25519.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>

#include <array>
#include <cstdint>
#include <cstring>

namespace morgana::tls {
namespace {

// P-256 numbers are 4 limbs, least significant first (GMP's mpn layout,
// which nettle's points and scalars use).
constexpr std::size_t limbs = 4;
using Number = std::array<mp_limb_t, limbs>;
static_assert(sizeof(mp_limb_t) == 8, "the limb conversions assume 64-bit limbs");

// Sizes of nettle's low-level scratch areas, checked against the *_itch
// functions at run time (nettle 3.8 asks 44 limbs for a P-256 signature).
constexpr std::size_t sign_scratch_limbs = 128;
constexpr std::size_t mod_scratch_limbs = 64;

// Stops the compiler from dropping the clearing of secrets that are dead afterwards.
void wipe(void* data, std::size_t length) {
  std::memset(data, 0, length);
  __asm__ __volatile__("" : : "r"(data) : "memory");
}

// A 32-byte big-endian number (the TLS and X9.62 encoding) as limbs, and back.
constexpr Number decode(const unsigned char* bytes) {
  Number n{};
  for (std::size_t i = 0; i < 32; ++i) n[(31 - i) / 8] |= mp_limb_t{bytes[i]} << (8 * ((31 - i) % 8));
  return n;
}

void encode(unsigned char* bytes, const mp_limb_t* n) {
  for (std::size_t i = 0; i < 32; ++i) bytes[i] = static_cast<unsigned char>(n[(31 - i) / 8] >> (8 * ((31 - i) % 8)));
}

// 1 when a < b, without branching on the values (scalars are secret).
mp_limb_t less_than(const Number& a, const Number& b) {
  Number difference;
  return mpn_sub_n(difference.data(), a.data(), b.data(), limbs);
}

mp_limb_t is_zero(const Number& a) {
  mp_limb_t any = 0;
  for (mp_limb_t limb : a) any |= limb;
  return static_cast<mp_limb_t>(any == 0);
}

// The field prime, curve constant b and group order of P-256 (FIPS 186-4 §D.1.2.3).
constexpr unsigned char p256_p_bytes[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff,
                                            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr unsigned char p256_b_bytes[32] = {0x5a, 0xc6, 0x35, 0xd8, 0xaa, 0x3a, 0x93, 0xe7, 0xb3, 0xeb, 0xbd,
                                            0x55, 0x76, 0x98, 0x86, 0xbc, 0x65, 0x1d, 0x06, 0xb0, 0xcc, 0x53,
                                            0xb0, 0xf6, 0x3b, 0xce, 0x3c, 0x3e, 0x27, 0xd2, 0x60, 0x4b};
// A wrong n would show as signatures unlike BearSSL's and keys equal to n
// being taken (tests/unit/tls/fast_ec_test.cpp), a wrong p or b as valid
// points refused.
constexpr unsigned char p256_n_bytes[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
                                            0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
                                            0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
constexpr Number p256_p = decode(p256_p_bytes);
constexpr Number p256_b = decode(p256_b_bytes);
constexpr Number p256_n = decode(p256_n_bytes);

// `number` (2 * limbs or more, least significant first) reduced modulo p into `result`.
bool reduce(mp_limb_t* number, std::size_t size, Number& result) {
  mp_limb_t scratch[mod_scratch_limbs];
  if (static_cast<std::size_t>(mpn_sec_div_r_itch(static_cast<mp_size_t>(size), limbs)) > mod_scratch_limbs)
    return false;
  mpn_sec_div_r(number, static_cast<mp_size_t>(size), p256_p.data(), limbs, scratch);
  std::memcpy(result.data(), number, sizeof result);
  return true;
}

bool multiply_mod_p(const Number& a, const Number& b, Number& result) {
  mp_limb_t product[2 * limbs];
  mp_limb_t scratch[mod_scratch_limbs];
  if (static_cast<std::size_t>(mpn_sec_mul_itch(limbs, limbs)) > mod_scratch_limbs) return false;
  mpn_sec_mul(product, a.data(), limbs, b.data(), limbs, scratch);
  return reduce(product, 2 * limbs, result);
}

// Whether (x, y) is an affine point of P-256: both below p and
// y^2 = x^3 - 3x + b (mod p), checked as y^2 = x^3 + b + 3(p - x).
// nettle's ecc_point_set checks the same through mpz_t, which would pull
// GMP's mpz layer (and its stdio) into images.
bool on_p256(const Number& x, const Number& y) {
  if (!less_than(x, p256_p) || !less_than(y, p256_p)) return false;
  Number left, right;
  if (!multiply_mod_p(y, y, left) || !multiply_mod_p(x, x, right) || !multiply_mod_p(right, x, right)) return false;
  mp_limb_t sum[limbs + 2] = {};
  std::memcpy(sum, right.data(), sizeof right);
  sum[limbs] = mpn_add_n(sum, sum, p256_b.data(), limbs);
  Number p_minus_x;
  mpn_sub_n(p_minus_x.data(), p256_p.data(), x.data(), limbs);
  mp_limb_t triple[limbs + 1];
  triple[limbs] = mpn_mul_1(triple, p_minus_x.data(), limbs, 3);
  sum[limbs + 1] = mpn_add_n(sum, sum, triple, limbs + 1);
  if (!reduce(sum, limbs + 2, right)) return false;
  return mpn_cmp(left.data(), right.data(), limbs) == 0;
}

// A P-256 scalar nettle takes: exactly 32 bytes, in [1, n - 1]. Anything
// else goes to m31, which accepts other lengths.
bool p256_scalar(const unsigned char* x, std::size_t length, Number& scalar) {
  if (length != 32) return false;
  scalar = decode(x);
  return (less_than(scalar, p256_n) & (is_zero(scalar) ^ 1)) != 0;
}

// The affine point `point` (2 * limbs: x then y) as X9.62 uncompressed.
std::size_t encode_point(unsigned char* out, const mp_limb_t* point) {
  out[0] = 0x04;
  encode(out + 1, point);
  encode(out + 33, point + limbs);
  return 65;
}

std::size_t p256_mulgen(unsigned char* out, const Number& scalar) {
  Number k = scalar;
  mp_limb_t result[2 * limbs];
  ecc_scalar n{nettle_get_secp_256r1(), k.data()};
  ecc_point r{nettle_get_secp_256r1(), result};
  ecc_point_mul_g(&r, &n);
  wipe(k.data(), sizeof k);
  return encode_point(out, result);
}

std::uint32_t p256_mul(unsigned char* point, std::size_t length, const Number& scalar) {
  if (length != 65 || point[0] != 0x04) return 0;
  Number x = decode(point + 1);
  Number y = decode(point + 33);
  if (!on_p256(x, y)) return 0;
  mp_limb_t input[2 * limbs], result[2 * limbs];
  std::memcpy(input, x.data(), sizeof x);
  std::memcpy(input + limbs, y.data(), sizeof y);
  Number k = scalar;
  ecc_scalar n{nettle_get_secp_256r1(), k.data()};
  ecc_point p{nettle_get_secp_256r1(), input};
  ecc_point r{nettle_get_secp_256r1(), result};
  ecc_point_mul(&r, &n, &p);
  wipe(k.data(), sizeof k);
  encode_point(point, result);
  return 1;
}

const unsigned char* generator(int curve, std::size_t* length) { return br_ec_all_m31.generator(curve, length); }

const unsigned char* order(int curve, std::size_t* length) { return br_ec_all_m31.order(curve, length); }

std::size_t xoff(int curve, std::size_t* length) { return br_ec_all_m31.xoff(curve, length); }

std::uint32_t mul(unsigned char* point, std::size_t length, const unsigned char* x, std::size_t x_length, int curve) {
  if (curve == BR_EC_secp256r1) {
    Number scalar;
    if (p256_scalar(x, x_length, scalar)) {
      std::uint32_t ok = p256_mul(point, length, scalar);
      wipe(scalar.data(), sizeof scalar);
      return ok;
    }
  } else if (curve == BR_EC_curve25519 && length == 32 && x_length == 32) {
    // RFC 7748 §5: nettle clamps the scalar and masks the top bit of u as m31 does.
    unsigned char result[32];
    curve25519_mul(result, x, point);
    std::memcpy(point, result, 32);
    wipe(result, sizeof result);
    return 1;
  }
  return br_ec_all_m31.mul(point, length, x, x_length, curve);
}

std::size_t mulgen(unsigned char* out, const unsigned char* x, std::size_t x_length, int curve) {
  if (curve == BR_EC_secp256r1) {
    Number scalar;
    if (p256_scalar(x, x_length, scalar)) {
      std::size_t length = p256_mulgen(out, scalar);
      wipe(scalar.data(), sizeof scalar);
      return length;
    }
  } else if (curve == BR_EC_curve25519 && x_length == 32) {
    curve25519_mul_g(out, x);
    return 32;
  }
  return br_ec_all_m31.mulgen(out, x, x_length, curve);
}

std::uint32_t muladd(unsigned char* a, const unsigned char* b, std::size_t length, const unsigned char* x,
                     std::size_t x_length, const unsigned char* y, std::size_t y_length, int curve) {
  return br_ec_all_m31.muladd(a, b, length, x, x_length, y, y_length, curve);
}

// br_ec_all_m31's curves (P-256, P-384, P-521, Curve25519), spelled out so
// that the table is constant data; the unit test compares the two.
constexpr std::uint32_t supported_curves =
    (1u << BR_EC_secp256r1) | (1u << BR_EC_secp384r1) | (1u << BR_EC_secp521r1) | (1u << BR_EC_curve25519);

constexpr br_ec_impl fast_ec_impl = {
    supported_curves, generator, order, xoff, mul, mulgen, muladd,
};

// The leftmost 256 bits of the hash as a number (bits2int, RFC 6979 §2.3.2),
// reduced modulo n once, which suffices below 2^256 < 2n.
Number reduced_hash(const unsigned char* hash, std::size_t length) {
  unsigned char padded[32] = {};
  std::size_t used = length < 32 ? length : 32;
  std::memcpy(padded + 32 - used, hash, used);
  Number m = decode(padded);
  Number reduced;
  mp_limb_t borrow = mpn_sub_n(reduced.data(), m.data(), p256_n.data(), limbs);
  mpn_cnd_swap(borrow ^ 1, m.data(), reduced.data(), limbs);
  return m;
}

// ECDSA P-256 with RFC 6979's deterministic nonce, derived exactly as
// BearSSL's ecdsa_i31_sign_raw does; writes r || s (64 bytes).
bool p256_sign_raw(const br_hash_class* hash, const void* hash_value, const br_ec_private_key& key,
                   unsigned char* raw) {
  // BearSSL's key decoder keeps the DER length, which may drop leading zeros.
  if (key.xlen > 32) return false;
  unsigned char padded[32] = {};
  std::memcpy(padded + 32 - key.xlen, key.x, key.xlen);
  Number x = decode(padded);
  wipe(padded, sizeof padded);
  if (!(less_than(x, p256_n) & (is_zero(x) ^ 1))) return false;
  std::size_t hash_length = (hash->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
  const auto* digest = static_cast<const unsigned char*>(hash_value);
  Number m = reduced_hash(digest, hash_length);

  unsigned char seed[64];
  encode(seed, x.data());
  encode(seed + 32, m.data());
  br_hmac_drbg_context drbg;
  br_hmac_drbg_init(&drbg, hash, seed, sizeof seed);
  Number k;
  for (;;) {
    br_hmac_drbg_generate(&drbg, seed, 32);
    k = decode(seed);
    if (less_than(k, p256_n) & (is_zero(k) ^ 1)) break;
  }
  const ecc_curve* curve = nettle_get_secp_256r1();
  mp_limb_t scratch[sign_scratch_limbs];
  Number r, s;
  bool ok = static_cast<std::size_t>(ecc_ecdsa_sign_itch(curve)) <= sign_scratch_limbs;
  if (ok) {
    ecc_ecdsa_sign(curve, x.data(), k.data(), hash_length, digest, r.data(), s.data(), scratch);
    // r or s zero has probability 2^-256; BearSSL's own code does not retry either.
    encode(raw, r.data());
    encode(raw + 32, s.data());
  }
  wipe(x.data(), sizeof x);
  wipe(k.data(), sizeof k);
  wipe(seed, sizeof seed);
  wipe(&drbg, sizeof drbg);
  wipe(scratch, sizeof scratch);
  return ok;
}

} // namespace

const br_ec_impl& fast_ec() { return fast_ec_impl; }

std::size_t fast_ecdsa_sign_asn1(const br_ec_impl* impl, const br_hash_class* hash, const void* hash_value,
                                 const br_ec_private_key* key, void* sig) {
  if (key->curve == BR_EC_secp256r1) {
    auto* out = static_cast<unsigned char*>(sig);
    if (p256_sign_raw(hash, hash_value, *key, out)) return br_ecdsa_raw_to_asn1(out, 64);
  }
  return br_ecdsa_i31_sign_asn1(impl, hash, hash_value, key, sig);
}

} // namespace morgana::tls
