#include "morgana/core/random.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "morgana/platform/interface.h"
#include "sim.h"

namespace morgana::random {
namespace {

class Random : public ::testing::Test {
protected:
  void SetUp() override {
    sim::reset();
    reset();
  }
  void TearDown() override {
    sim::reset();
    reset();
  }
};

// RFC 8439 §2.3.2: key 00:01:..:1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, block count 1.
TEST(ChaCha20, Rfc8439BlockFunctionVector) {
  std::uint32_t key[8];
  for (std::uint32_t i = 0; i < 8; ++i) key[i] = (4 * i) | (4 * i + 1) << 8 | (4 * i + 2) << 16 | (4 * i + 3) << 24;
  const std::uint32_t nonce[3] = {0x09000000, 0x4a000000, 0x00000000};
  std::uint8_t out[64];
  chacha20_block(key, 1, nonce, out);
  const std::uint8_t expected[64] = {0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f, 0xa3,
                                     0x20, 0x71, 0xc4, 0xc7, 0xd1, 0xf4, 0xc7, 0x33, 0xc0, 0x68, 0x03, 0x04, 0x22,
                                     0xaa, 0x9a, 0xc3, 0xd4, 0x6c, 0x4e, 0xd2, 0x82, 0x64, 0x46, 0x07, 0x9f, 0xaa,
                                     0x09, 0x14, 0xc2, 0xd7, 0x05, 0xd9, 0x8b, 0x02, 0xa2, 0xb5, 0x12, 0x9c, 0xd1,
                                     0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e};
  EXPECT_EQ(std::memcmp(out, expected, 64), 0);
}

// RFC 8439 Appendix A.1, test vector #1: all-zero key and nonce, block count 0.
TEST(ChaCha20, Rfc8439AppendixA1ZeroKey) {
  const std::uint32_t key[8] = {};
  const std::uint32_t nonce[3] = {};
  std::uint8_t out[64];
  chacha20_block(key, 0, nonce, out);
  const std::uint8_t expected[64] = {0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53,
                                     0x86, 0xbd, 0x28, 0xbd, 0xd2, 0x19, 0xb8, 0xa0, 0x8d, 0xed, 0x1a, 0xa8, 0x36,
                                     0xef, 0xcc, 0x8b, 0x77, 0x0d, 0xc7, 0xda, 0x41, 0x59, 0x7c, 0x51, 0x57, 0x48,
                                     0x8d, 0x77, 0x24, 0xe0, 0x3f, 0xb8, 0xd8, 0x4a, 0x37, 0x6a, 0x43, 0xb8, 0xf4,
                                     0x15, 0x18, 0xa1, 0x1c, 0xc3, 0x87, 0xb6, 0x69, 0xb2, 0xee, 0x65, 0x86};
  EXPECT_EQ(std::memcmp(out, expected, 64), 0);
}

TEST_F(Random, FillWritesEveryByte) {
  // 1000 bytes is not a multiple of the 64-byte block.
  std::array<std::byte, 1000> a{};
  ASSERT_TRUE(fill(a));
  std::size_t zeros = 0;
  for (auto b : a) zeros += b == std::byte{0};
  EXPECT_LT(zeros, 20u); // about 4 expected
  // The last partial block is filled too.
  std::size_t tail_zeros = 0;
  for (std::size_t i = 960; i < 1000; ++i) tail_zeros += a[i] == std::byte{0};
  EXPECT_LT(tail_zeros, 5u);
  // Consecutive blocks differ (the counter advances).
  EXPECT_NE(std::memcmp(a.data(), a.data() + 64, 64), 0);
}

TEST_F(Random, ConsecutiveRequestsDiffer) {
  std::array<std::byte, 32> a{};
  std::array<std::byte, 32> b{};
  ASSERT_TRUE(fill(a));
  ASSERT_TRUE(fill(b));
  EXPECT_NE(a, b);
  EXPECT_NE(u32().value(), u32().value());
}

TEST_F(Random, EmptyFillSucceeds) { EXPECT_TRUE(fill(MutableBytes{})); }

// The generator is ChaCha20 keyed with the platform's first 32 entropy bytes:
// block 0 becomes the next key (fast key erasure), blocks 1.. are the output.
TEST_F(Random, OutputIsChaCha20KeyedFromEntropy) {
  std::array<std::byte, 32> entropy{};
  ASSERT_TRUE(platform::entropy(entropy));
  sim::reset(); // the simulated entropy source starts over

  std::uint32_t key[8];
  std::memcpy(key, entropy.data(), sizeof key);
  const std::uint32_t nonce[3] = {};
  std::uint8_t expected[128];
  chacha20_block(key, 1, nonce, expected);
  chacha20_block(key, 2, nonce, expected + 64);
  std::uint8_t next_key_block[64];
  chacha20_block(key, 0, nonce, next_key_block);

  std::array<std::byte, 100> output{};
  ASSERT_TRUE(fill(output));
  EXPECT_EQ(std::memcmp(output.data(), expected, output.size()), 0);

  std::uint32_t next_key[8];
  std::memcpy(next_key, next_key_block, sizeof next_key);
  std::uint8_t expected_second[64];
  chacha20_block(next_key, 1, nonce, expected_second);
  std::array<std::byte, 16> second{};
  ASSERT_TRUE(fill(second));
  EXPECT_EQ(std::memcmp(second.data(), expected_second, second.size()), 0);
}

TEST_F(Random, ResetReseedsFromThePlatform) {
  std::array<std::byte, 16> first{};
  ASSERT_TRUE(fill(first));
  sim::reset();
  reset();
  std::array<std::byte, 16> replay{};
  ASSERT_TRUE(fill(replay));
  EXPECT_EQ(first, replay); // the simulated entropy is deterministic
}

TEST_F(Random, NoEntropyFails) {
  sim::set_entropy_available(false);
  std::array<std::byte, 8> buffer{};
  auto filled = fill(buffer);
  ASSERT_FALSE(filled);
  EXPECT_EQ(filled.error().code, Errc::no_entropy);
  EXPECT_EQ(u32().error().code, Errc::no_entropy);
  EXPECT_EQ(u16().error().code, Errc::no_entropy);
  // Once entropy is back, the generator seeds and works.
  sim::set_entropy_available(true);
  EXPECT_TRUE(fill(buffer));
}

TEST_F(Random, SeededGeneratorNeedsNoMoreEntropy) {
  ASSERT_TRUE(u16());
  sim::set_entropy_available(false);
  EXPECT_TRUE(u32());
  reset();
  EXPECT_EQ(u32().error().code, Errc::no_entropy);
}

TEST_F(Random, U16AndU32CoverTheirRanges) {
  std::uint32_t u32_or = 0;
  std::uint16_t u16_or = 0;
  for (int i = 0; i < 64; ++i) {
    u32_or |= u32().value();
    u16_or = static_cast<std::uint16_t>(u16_or | u16().value());
  }
  EXPECT_EQ(u32_or, 0xffffffffu);
  EXPECT_EQ(u16_or, 0xffff);
}

} // namespace
} // namespace morgana::random
