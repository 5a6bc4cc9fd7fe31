#include "morgana/tls/fast_ec.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "morgana/tls/suites.h"

namespace morgana::tls {
namespace {

using Bytes = std::vector<unsigned char>;

Bytes hex(std::string_view text) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2)
    out.push_back(std::stoi(std::string(text.substr(i, 2)), nullptr, 16));
  return out;
}

std::string to_hex(const unsigned char* data, std::size_t length) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < length; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string to_hex(const Bytes& bytes) { return to_hex(bytes.data(), bytes.size()); }

// Reproducible "random" inputs: BearSSL's HMAC_DRBG on a fixed seed.
class Inputs {
public:
  explicit Inputs(std::string_view seed) { br_hmac_drbg_init(&m_drbg, &br_sha256_vtable, seed.data(), seed.size()); }
  Bytes next(std::size_t length) {
    Bytes out(length);
    br_hmac_drbg_generate(&m_drbg, out.data(), length);
    return out;
  }

private:
  br_hmac_drbg_context m_drbg;
};

const br_ec_impl& m31 = br_ec_all_m31;

// x * point on `curve` by `impl`: the result, or empty when impl refuses.
Bytes mul(const br_ec_impl& impl, Bytes point, const Bytes& x, int curve) {
  if (!impl.mul(point.data(), point.size(), x.data(), x.size(), curve)) return {};
  return point;
}

Bytes mulgen(const br_ec_impl& impl, const Bytes& x, int curve) {
  Bytes out(BR_EC_KBUF_PUB_MAX_SIZE);
  out.resize(impl.mulgen(out.data(), x.data(), x.size(), curve));
  return out;
}

TEST(TlsFastEc, DescribesTheSameCurvesAsM31) {
  const br_ec_impl& fast = fast_ec();
  EXPECT_EQ(fast.supported_curves, m31.supported_curves);
  for (int curve : {BR_EC_secp256r1, BR_EC_secp384r1, BR_EC_secp521r1, BR_EC_curve25519}) {
    std::size_t a = 0, b = 0;
    EXPECT_EQ(fast.order(curve, &a), m31.order(curve, &b));
    EXPECT_EQ(a, b);
    EXPECT_EQ(fast.generator(curve, &a), m31.generator(curve, &b));
    EXPECT_EQ(fast.xoff(curve, &a), m31.xoff(curve, &b));
    EXPECT_EQ(a, b);
  }
}

// Both sides' engines do ECDHE with fast_ec and verify ECDSA with BearSSL's
// default verifier (br_ssl_engine_set_default_ecdsa would put m31 back).
TEST(TlsFastEc, EnginesUseIt) {
  br_ssl_engine_context engine{};
  configure_engine(engine);
  EXPECT_EQ(br_ssl_engine_get_ec(&engine), &fast_ec());
  EXPECT_EQ(br_ssl_engine_get_ecdsa(&engine), br_ecdsa_vrfy_asn1_get_default());
}

// RFC 7748 §5.2 (one iteration of each function) and §6.1 (Alice and Bob).
TEST(TlsFastEc, X25519MatchesRfc7748) {
  struct Vector {
    std::string_view scalar, u, out;
  };
  for (const Vector& v : {Vector{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                                 "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                                 "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
                          // u with its top bit set, which X25519 ignores.
                          Vector{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                                 "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                                 "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"}}) {
    EXPECT_EQ(to_hex(mul(fast_ec(), hex(v.u), hex(v.scalar), BR_EC_curve25519)), v.out);
  }
  Bytes alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  Bytes bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  Bytes alice_public = mulgen(fast_ec(), alice, BR_EC_curve25519);
  Bytes bob_public = mulgen(fast_ec(), bob, BR_EC_curve25519);
  EXPECT_EQ(to_hex(alice_public), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(to_hex(bob_public), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  EXPECT_EQ(to_hex(mul(fast_ec(), bob_public, alice, BR_EC_curve25519)), shared);
  EXPECT_EQ(to_hex(mul(fast_ec(), alice_public, bob, BR_EC_curve25519)), shared);
}

// NIST CAVS ECC CDH, P-256, COUNT = 0 (SP 800-56A).
TEST(TlsFastEc, P256EcdhKnownAnswer) {
  Bytes peer = hex("04700c48f77f56584c5cc632ca65640db91b6bacce3a4df6b42ce7cc838833d287"
                   "db71e509e3fd9b060ddb20ba5c51dcc5948d46fbf640dfe0441782cab85fa4ac");
  Bytes d = hex("7d7dc5f71eb29ddaf80d6214632eeae03d9058af1fb6d22ed80badb62bc1a534");
  EXPECT_EQ(to_hex(mulgen(fast_ec(), d, BR_EC_secp256r1)),
            "04ead218590119e8876b29146ff89ca61770c4edbbf97d38ce385ed281d8a6b230"
            "28af61281fd35e2fa7002523acc85a429cb06ee6648325389f59edfce1405141");
  Bytes shared = mul(fast_ec(), peer, d, BR_EC_secp256r1);
  ASSERT_EQ(shared.size(), 65u);
  std::size_t length = 0;
  std::size_t offset = fast_ec().xoff(BR_EC_secp256r1, &length);
  EXPECT_EQ(to_hex(shared.data() + offset, length), "46fc62106420ff012e54a434fbdd2d25ccc5852060561e68040dd7778997bd7b");
}

// The scalars BearSSL's ECDHE makes (top bit clear, bottom bit set) and
// unrestricted ones, some of which (P-256: at or above the order, other
// lengths) go to m31; either way the bytes must be m31's.
TEST(TlsFastEc, AgreesWithM31OnRandomScalars) {
  Inputs inputs("fast_ec agreement");
  for (int curve : {BR_EC_secp256r1, BR_EC_curve25519}) {
    Bytes peer = mulgen(m31, inputs.next(32), curve);
    for (int i = 0; i < 64; ++i) {
      Bytes x = inputs.next(32);
      if (i % 2 == 0) {
        x[0] &= 0x7f;
        x[31] |= 1;
      }
      if (i == 1) std::memset(x.data(), 0xff, x.size()); // above the P-256 order
      if (i == 3) x.resize(20);                          // a short scalar
      SCOPED_TRACE("curve " + std::to_string(curve) + " scalar " + to_hex(x));
      Bytes public_key = mulgen(fast_ec(), x, curve);
      EXPECT_EQ(public_key, mulgen(m31, x, curve));
      EXPECT_EQ(mul(fast_ec(), peer, x, curve), mul(m31, peer, x, curve));
      peer = public_key;
    }
  }
}

TEST(TlsFastEc, RefusesPointsOffTheCurve) {
  Inputs inputs("fast_ec bad points");
  Bytes x = inputs.next(32);
  x[0] &= 0x7f;
  Bytes good = mulgen(m31, inputs.next(32), BR_EC_secp256r1);
  ASSERT_FALSE(mul(fast_ec(), good, x, BR_EC_secp256r1).empty());
  Bytes off = good;
  off[64] ^= 1; // y no longer matches x
  Bytes compressed = good;
  compressed[0] = 0x02;
  Bytes short_point(good.begin(), good.end() - 1);
  Bytes x_is_p = good; // x = p, a coordinate outside the field
  const Bytes p = hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
  std::memcpy(x_is_p.data() + 1, p.data(), 32);
  Bytes zero(65, 0);
  zero[0] = 0x04;
  for (const Bytes& bad : {off, compressed, short_point, x_is_p, zero}) {
    SCOPED_TRACE(to_hex(bad));
    EXPECT_TRUE(mul(fast_ec(), bad, x, BR_EC_secp256r1).empty());
    EXPECT_TRUE(mul(m31, bad, x, BR_EC_secp256r1).empty());
  }
}

struct Key {
  Bytes x;
  Bytes q;
  br_ec_private_key secret() { return {BR_EC_secp256r1, x.data(), x.size()}; }
  br_ec_public_key open() { return {BR_EC_secp256r1, q.data(), q.size()}; }
};

Key p256_key(Bytes x) {
  Key key{std::move(x), {}};
  key.q.resize(BR_EC_KBUF_PUB_MAX_SIZE);
  br_ec_private_key secret = key.secret();
  br_ec_public_key unused;
  key.q.resize(br_ec_compute_pub(&m31, &unused, key.q.data(), &secret));
  return key;
}

Bytes sign(br_ecdsa_sign signer, const br_hash_class* hash, const Bytes& digest, Key& key) {
  Bytes sig(139);
  br_ec_private_key secret = key.secret();
  sig.resize(signer(&fast_ec(), hash, digest.data(), &secret, sig.data()));
  return sig;
}

// RFC 6979 nonces as BearSSL derives them: the same key and hash give
// BearSSL's own signature, byte for byte, and it verifies.
TEST(TlsFastEc, EcdsaP256SignsAsBearSsl) {
  Inputs inputs("fast_ec ecdsa");
  for (int i = 0; i < 16; ++i) {
    Bytes x = inputs.next(32);
    if (i == 0) x[0] = 0; // BearSSL keeps a key's DER length: 31 bytes here
    Key key = p256_key(i == 0 ? Bytes(x.begin() + 1, x.end()) : x);
    ASSERT_EQ(key.q.size(), 65u);
    for (const br_hash_class* hash : {&br_sha1_vtable, &br_sha256_vtable, &br_sha384_vtable, &br_sha512_vtable}) {
      std::size_t length = (hash->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK;
      Bytes digest = inputs.next(length);
      if (i == 1) std::memset(digest.data(), 0xff, length); // above the order: reduced
      SCOPED_TRACE("key " + to_hex(key.x) + " hash " + to_hex(digest));
      Bytes ours = sign(fast_ecdsa_sign_asn1, hash, digest, key);
      ASSERT_FALSE(ours.empty());
      EXPECT_EQ(ours, sign(br_ecdsa_i31_sign_asn1, hash, digest, key));
      EXPECT_EQ(ours, sign(fast_ecdsa_sign_asn1, hash, digest, key)) << "deterministic";
      br_ec_public_key open = key.open();
      EXPECT_TRUE(br_ecdsa_i31_vrfy_asn1(&m31, digest.data(), length, &open, ours.data(), ours.size()));
      digest[0] ^= 1;
      EXPECT_FALSE(br_ecdsa_i31_vrfy_asn1(&m31, digest.data(), length, &open, ours.data(), ours.size()));
    }
  }
}

TEST(TlsFastEc, EcdsaRefusesKeysOutsideTheGroup) {
  Bytes digest(32, 0x5a);
  for (std::string_view x : {"0000000000000000000000000000000000000000000000000000000000000000",
                             "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
                             "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"}) {
    Key key{hex(x), {}};
    EXPECT_TRUE(sign(fast_ecdsa_sign_asn1, &br_sha256_vtable, digest, key).empty()) << x;
  }
}

// Other curves go to BearSSL's i31 signer unchanged.
TEST(TlsFastEc, EcdsaP384IsBearSsls) {
  Inputs inputs("fast_ec p384");
  Bytes x = inputs.next(48);
  x[0] &= 0x7f;
  br_ec_private_key secret{BR_EC_secp384r1, x.data(), x.size()};
  Bytes digest = inputs.next(48);
  Bytes ours(139), theirs(139);
  ours.resize(fast_ecdsa_sign_asn1(&fast_ec(), &br_sha384_vtable, digest.data(), &secret, ours.data()));
  theirs.resize(br_ecdsa_i31_sign_asn1(&m31, &br_sha384_vtable, digest.data(), &secret, theirs.data()));
  ASSERT_FALSE(ours.empty());
  EXPECT_EQ(ours, theirs);
}

} // namespace
} // namespace morgana::tls
