// The elliptic-curve operations of a full TLS 1.2 ECDHE-ECDSA handshake, timed
// in each candidate library Debian ships as a static archive (issue 13, item 5):
// ECDSA P-256 sign, P-256 ECDH (key generation, shared secret), X25519 (key
// generation, shared secret). Run by hand (bench/README.md); the numbers go to
// docs/BENCHMARKS.md. Each library's result is checked against BearSSL's so a
// fast wrong answer cannot pass for a fast one.
//
// Build and run: bench/README.md (cc ... -l:libbearssl.a -l:libhogweed.a ...; build/ec_speed [iterations]).

#include <bearssl.h>
#include <gmp.h>
#include <nettle/curve25519.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
// wolfSSL's options.h must come before its other headers.
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>

static int iterations = 1000;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// Milliseconds of CPU per call of `body`.
#define TIME(label, body)                                                                                              \
  do {                                                                                                                 \
    double start_ = now();                                                                                             \
    for (int i_ = 0; i_ < iterations; ++i_) { body; }                                                                  \
    printf("  %-22s %8.4f ms\n", label, (now() - start_) * 1e3 / iterations);                                         \
  } while (0)

static void check(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "FAIL: %s\n", what);
    exit(1);
  }
}

// Fixed inputs: a P-256 private key, a message hash, an X25519 scalar pair.
static const unsigned char p256_x[32] = {0xc9, 0xaf, 0xa9, 0xd8, 0x45, 0xba, 0x75, 0x16, 0x6b, 0x5c, 0x21,
                                         0x57, 0x67, 0xb1, 0xd6, 0x93, 0x4e, 0x50, 0xc3, 0xdb, 0x36, 0xe8,
                                         0x9b, 0x12, 0x7b, 0x8a, 0x62, 0x2b, 0x12, 0x0f, 0x67, 0x21};
static unsigned char hash[32];
static unsigned char p256_pub[65];  // BearSSL's public key for p256_x
static unsigned char p256_peer[65]; // another point: 2 * p256_pub's scalar... any valid point
static unsigned char bear_shared[65];
static unsigned char x25519_a[32], x25519_b[32], x25519_b_pub[32], x25519_shared[32];

static void bearssl(void) {
  printf("BearSSL m31 (Debian libbearssl.a 0.6)\n");
  const br_ec_impl* ec = &br_ec_all_m31;
  br_ec_private_key key = {BR_EC_secp256r1, (unsigned char*)p256_x, 32};
  unsigned char sig[80];
  size_t len = 0;
  TIME("ECDSA P-256 sign", len = br_ecdsa_i31_sign_asn1(ec, &br_sha256_vtable, hash, &key, sig));
  br_ec_public_key pub = {BR_EC_secp256r1, p256_pub, 65};
  check(br_ecdsa_i31_vrfy_asn1(ec, hash, 32, &pub, sig, len), "BearSSL verify");
  unsigned char point[65];
  TIME("P-256 keygen", ec->mulgen(point, p256_x, 32, BR_EC_secp256r1));
  TIME("P-256 shared", memcpy(point, p256_peer, 65); ec->mul(point, 65, p256_x, 32, BR_EC_secp256r1));
  check(memcmp(point, bear_shared, 65) == 0, "BearSSL P-256 shared");
  unsigned char q[32];
  TIME("X25519 keygen", ec->mulgen(q, x25519_a, 32, BR_EC_curve25519));
  TIME("X25519 shared", memcpy(q, x25519_b_pub, 32); ec->mul(q, 32, x25519_a, 32, BR_EC_curve25519));
  check(memcmp(q, x25519_shared, 32) == 0, "BearSSL X25519");
}

static void nettle_import(mpz_t z, const unsigned char* bytes, size_t length) {
  mpz_import(z, length, 1, 1, 0, 0, bytes);
}

static void nettle_export(unsigned char* out, size_t length, const mpz_t z) {
  size_t count = 0;
  memset(out, 0, length);
  unsigned char tmp[66];
  mpz_export(tmp, &count, 1, 1, 0, 0, z);
  memcpy(out + length - count, tmp, count);
}

static void nettle(void) {
  printf("nettle/hogweed 3.8.1 + GMP 6.2.1 (x86_64 asm)\n");
  const struct ecc_curve* curve = nettle_get_secp_256r1();
  // The low-level signer on limbs, with a given nonce (BearSSL's RFC 6979 one in the real glue).
  mp_limb_t z[4], k[4], r[4], s[4];
  mp_limb_t* scratch = malloc(ecc_ecdsa_sign_itch(curve) * sizeof(mp_limb_t));
  mpz_t t;
  mpz_init(t);
  nettle_import(t, p256_x, 32);
  mpz_export(z, NULL, -1, sizeof(mp_limb_t), 0, 0, t);
  memcpy(k, z, sizeof k);
  k[0] ^= 0x5a5a;
  TIME("ECDSA P-256 sign", ecc_ecdsa_sign(curve, z, k, 32, hash, r, s, scratch));
  unsigned char raw[64], x[32];
  mpz_roinit_n(t, r, 4);
  nettle_export(raw, 32, t);
  mpz_roinit_n(t, s, 4);
  nettle_export(raw + 32, 32, t);
  size_t len = br_ecdsa_raw_to_asn1(raw, 64);
  br_ec_public_key pub = {BR_EC_secp256r1, p256_pub, 65};
  check(br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, hash, 32, &pub, raw, len), "nettle signature verified by BearSSL");

  struct ecc_scalar scalar;
  struct ecc_point point;
  mpz_t px, py;
  mpz_inits(px, py, NULL);
  ecc_scalar_init(&scalar, curve);
  ecc_point_init(&point, curve);
  nettle_import(px, p256_x, 32);
  check(ecc_scalar_set(&scalar, px), "nettle scalar");
  unsigned char out[65];
  TIME("P-256 keygen", ecc_point_mul_g(&point, &scalar); ecc_point_get(&point, px, py); out[0] = 4;
       nettle_export(out + 1, 32, px); nettle_export(out + 33, 32, py));
  check(memcmp(out, p256_pub, 65) == 0, "nettle P-256 keygen");
  struct ecc_point peer;
  ecc_point_init(&peer, curve);
  TIME("P-256 shared", nettle_import(px, p256_peer + 1, 32); nettle_import(py, p256_peer + 33, 32);
       ecc_point_set(&peer, px, py); ecc_point_mul(&point, &scalar, &peer); ecc_point_get(&point, px, py);
       nettle_export(out + 1, 32, px); nettle_export(out + 33, 32, py));
  check(memcmp(out, bear_shared, 65) == 0, "nettle P-256 shared");
  (void)x;
  unsigned char q[32];
  TIME("X25519 keygen", curve25519_mul_g(q, x25519_a));
  TIME("X25519 shared", curve25519_mul(q, x25519_a, x25519_b_pub));
  check(memcmp(q, x25519_shared, 32) == 0, "nettle X25519");
  free(scratch);
}

static void sodium(void) {
  printf("libsodium 1.0.18 (X25519 only)\n");
  check(sodium_init() >= 0, "sodium_init");
  unsigned char q[32];
  TIME("X25519 keygen", crypto_scalarmult_base(q, x25519_a));
  TIME("X25519 shared", crypto_scalarmult(q, x25519_a, x25519_b_pub));
  check(memcmp(q, x25519_shared, 32) == 0, "libsodium X25519");
}

static void wolfssl(void) {
  printf("wolfCrypt (Debian libwolfssl.a 5.5: fastmath TFM_ECC256, FP_ECC)\n");
  WC_RNG rng;
  check(wc_InitRng(&rng) == 0, "wc_InitRng");
  ecc_key key, peer;
  wc_ecc_init(&key);
  wc_ecc_init(&peer);
  check(wc_ecc_import_private_key_ex(p256_x, 32, p256_pub, 65, &key, ECC_SECP256R1) == 0, "wolfSSL import");
  wc_ecc_set_rng(&key, &rng);
  unsigned char sig[80];
  word32 len = sizeof sig;
  TIME("ECDSA P-256 sign", len = sizeof sig; wc_ecc_sign_hash(hash, 32, sig, &len, &rng, &key));
  br_ec_public_key pub = {BR_EC_secp256r1, p256_pub, 65};
  check(br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, hash, 32, &pub, sig, len), "wolfSSL signature verified by BearSSL");
  ecc_key fresh;
  TIME("P-256 keygen", wc_ecc_init(&fresh); wc_ecc_make_key_ex(&rng, 32, &fresh, ECC_SECP256R1); wc_ecc_free(&fresh));
  unsigned char out[32];
  word32 outlen = 0;
  check(wc_ecc_import_x963_ex(p256_peer, 65, &peer, ECC_SECP256R1) == 0, "wolfSSL peer");
  TIME("P-256 shared", outlen = 32; wc_ecc_shared_secret(&key, &peer, out, &outlen));
  check(memcmp(out, bear_shared + 1, 32) == 0, "wolfSSL P-256 shared");
  curve25519_key a, b;
  TIME("X25519 keygen", wc_curve25519_init(&a); wc_curve25519_make_key(&rng, 32, &a); wc_curve25519_free(&a));
  wc_curve25519_init(&a);
  wc_curve25519_init(&b);
  check(wc_curve25519_import_private_ex(x25519_a, 32, &a, EC25519_LITTLE_ENDIAN) == 0, "wolfSSL x25519 priv");
  check(wc_curve25519_import_public_ex(x25519_b_pub, 32, &b, EC25519_LITTLE_ENDIAN) == 0, "wolfSSL x25519 pub");
  unsigned char q[32];
  TIME("X25519 shared", outlen = 32; wc_curve25519_shared_secret_ex(&a, &b, q, &outlen, EC25519_LITTLE_ENDIAN));
  check(memcmp(q, x25519_shared, 32) == 0, "wolfSSL X25519");
}

static void mbedtls(void) {
  printf("mbedTLS 2.28 (libmbedcrypto.a)\n");
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  mbedtls_entropy_init(&entropy);
  mbedtls_ctr_drbg_init(&drbg);
  check(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) == 0, "mbedTLS drbg");
  mbedtls_ecp_group grp;
  mbedtls_ecp_group_init(&grp);
  mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1);
  mbedtls_mpi d, r, s;
  mbedtls_mpi_init(&d);
  mbedtls_mpi_init(&r);
  mbedtls_mpi_init(&s);
  mbedtls_mpi_read_binary(&d, p256_x, 32);
  TIME("ECDSA P-256 sign",
       mbedtls_ecdsa_sign_det_ext(&grp, &r, &s, &d, hash, 32, MBEDTLS_MD_SHA256, mbedtls_ctr_drbg_random, &drbg));
  unsigned char raw[64];
  mbedtls_mpi_write_binary(&r, raw, 32);
  mbedtls_mpi_write_binary(&s, raw + 32, 32);
  size_t len = br_ecdsa_raw_to_asn1(raw, 64);
  br_ec_public_key pub = {BR_EC_secp256r1, p256_pub, 65};
  check(br_ecdsa_i31_vrfy_asn1(&br_ec_all_m31, hash, 32, &pub, raw, len), "mbedTLS signature verified by BearSSL");
  mbedtls_ecp_point point, peer;
  mbedtls_ecp_point_init(&point);
  mbedtls_ecp_point_init(&peer);
  TIME("P-256 keygen", mbedtls_ecp_mul(&grp, &point, &d, &grp.G, mbedtls_ctr_drbg_random, &drbg));
  mbedtls_mpi z;
  mbedtls_mpi_init(&z);
  check(mbedtls_ecp_point_read_binary(&grp, &peer, p256_peer, 65) == 0, "mbedTLS peer");
  unsigned char out[32];
  TIME("P-256 shared", mbedtls_ecdh_compute_shared(&grp, &z, &peer, &d, mbedtls_ctr_drbg_random, &drbg));
  mbedtls_mpi_write_binary(&z, out, 32);
  check(memcmp(out, bear_shared + 1, 32) == 0, "mbedTLS P-256 shared");
  mbedtls_ecp_group x;
  mbedtls_ecp_group_init(&x);
  mbedtls_ecp_group_load(&x, MBEDTLS_ECP_DP_CURVE25519);
  mbedtls_mpi_read_binary_le(&d, x25519_a, 32);
  mbedtls_mpi_set_bit(&d, 254, 1); // RFC 7748 clamping, which mbedTLS leaves to the caller
  mbedtls_mpi_set_bit(&d, 255, 0);
  for (int bit = 0; bit < 3; ++bit) mbedtls_mpi_set_bit(&d, bit, 0);
  // The ladder on u = 9 (mbedtls_ecp_mul and mbedtls_ecdh_gen_public refuse this group's G here).
  mbedtls_ecp_point base;
  mbedtls_ecp_point_init(&base);
  mbedtls_mpi_lset(&base.X, 9);
  mbedtls_mpi_lset(&base.Z, 1);
  TIME("X25519 keygen", check(mbedtls_ecdh_compute_shared(&x, &z, &base, &d, mbedtls_ctr_drbg_random, &drbg) == 0,
                              "mbedTLS X25519 keygen"));
  unsigned char bpub[32];
  memcpy(bpub, x25519_b_pub, 32);
  bpub[31] &= 0x7f;
  mbedtls_mpi_read_binary_le(&peer.X, bpub, 32);
  mbedtls_mpi_lset(&peer.Z, 1);
  TIME("X25519 shared", mbedtls_ecdh_compute_shared(&x, &z, &peer, &d, mbedtls_ctr_drbg_random, &drbg));
  unsigned char q[32];
  mbedtls_mpi_write_binary_le(&z, q, 32);
  check(memcmp(q, x25519_shared, 32) == 0, "mbedTLS X25519");
}

int main(int argc, char** argv) {
  if (argc > 1) iterations = atoi(argv[1]);
  br_sha256_context sha;
  br_sha256_init(&sha);
  br_sha256_update(&sha, "Morgana", 7);
  br_sha256_out(&sha, hash);
  for (int i = 0; i < 32; ++i) {
    x25519_a[i] = (unsigned char)(i * 7 + 1);
    x25519_b[i] = (unsigned char)(i * 13 + 5);
  }
  // Reference values from BearSSL: the public key, a peer point, the shared secrets.
  const br_ec_impl* ec = &br_ec_all_m31;
  ec->mulgen(p256_pub, p256_x, 32, BR_EC_secp256r1);
  unsigned char y[32];
  memcpy(y, p256_x, 32);
  y[31] ^= 0x33;
  ec->mulgen(p256_peer, y, 32, BR_EC_secp256r1);
  memcpy(bear_shared, p256_peer, 65);
  ec->mul(bear_shared, 65, p256_x, 32, BR_EC_secp256r1);
  ec->mulgen(x25519_b_pub, x25519_b, 32, BR_EC_curve25519);
  memcpy(x25519_shared, x25519_b_pub, 32);
  ec->mul(x25519_shared, 32, x25519_a, 32, BR_EC_curve25519);
  printf("%d iterations each, CPU time per operation\n", iterations);
  bearssl();
  nettle();
  sodium();
  wolfssl();
  mbedtls();
  return 0;
}
