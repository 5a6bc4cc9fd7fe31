#include "morgana/core/checksum.h"

#include <gtest/gtest.h>

#include <array>

namespace morgana {
namespace {

template <class... T>
std::array<std::byte, sizeof...(T)> bytes_of(T... values) {
  return {std::byte(values)...};
}

// RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (one's complement).
TEST(InternetChecksum, Rfc1071Example) {
  auto data = bytes_of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
  EXPECT_EQ(internet_checksum(data), static_cast<std::uint16_t>(~0xddf2));
}

TEST(InternetChecksum, OddLengthPadsWithZero) {
  auto data = bytes_of(0x01, 0x02, 0x03);
  EXPECT_EQ(internet_checksum(data), static_cast<std::uint16_t>(~(0x0102 + 0x0300)));
}

TEST(InternetChecksum, PiecesSplitAtOddOffsetsMatchWhole) {
  auto data = bytes_of(0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0);
  InternetChecksum pieces;
  pieces.add(std::span(data).first(3));
  pieces.add(std::span(data).subspan(3, 5));
  pieces.add(std::span(data).subspan(8));
  EXPECT_EQ(pieces.finish(), internet_checksum(data));
}

// A real IPv4 header (Wikipedia's worked example): checksum b861 verifies to zero.
TEST(InternetChecksum, Ipv4HeaderVerifiesToZero) {
  auto header = bytes_of(0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01,
                         0xc0, 0xa8, 0x00, 0xc7);
  EXPECT_EQ(internet_checksum(header), 0);
  header[10] = header[11] = std::byte{0};
  EXPECT_EQ(internet_checksum(header), 0xb861);
}

// RFC 1624 §4: decrementing TTL updates the checksum as a full recomputation would.
TEST(InternetChecksum, Rfc1624IncrementalUpdateMatchesRecompute) {
  auto header = bytes_of(0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01,
                         0xc0, 0xa8, 0x00, 0xc7);
  std::uint16_t old_word = load_be16(&header[8]);
  header[8] = std::byte{0x3f};
  std::uint16_t new_word = load_be16(&header[8]);
  std::uint16_t updated = checksum_update(0xb861, old_word, new_word);
  header[10] = header[11] = std::byte{0};
  EXPECT_EQ(updated, internet_checksum(header));
}

// RFC 1624 §3: the case where eqn. 2 yields 0xffff (-0) but eqn. 3 yields 0x0000.
TEST(InternetChecksum, Rfc1624Example) { EXPECT_EQ(checksum_update(0xdd2f, 0x5555, 0x3285), 0x0000); }

} // namespace
} // namespace morgana
