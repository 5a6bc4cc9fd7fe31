#include "morgana/core/checksum.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

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

namespace morgana {
namespace {

// The word-at-a-time sum of RFC 1071 §1, as the reference for the fast path.
std::uint16_t reference_checksum(Bytes data) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    std::uint32_t high = std::to_integer<std::uint8_t>(data[i]);
    std::uint32_t low = i + 1 < data.size() ? std::to_integer<std::uint8_t>(data[i + 1]) : 0;
    sum += (high << 8) | low;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

TEST(InternetChecksum, LongDataAtEverySplitMatchesTheReference) {
  std::vector<std::byte> data(1501);
  std::uint32_t state = 12345;
  for (auto& b : data) {
    state = state * 1103515245 + 12345;
    b = std::byte(state >> 24);
  }
  for (std::size_t length : {8u, 9u, 15u, 64u, 1500u, 1501u}) {
    auto whole = std::span(data).first(length);
    EXPECT_EQ(internet_checksum(whole), reference_checksum(whole)) << length;
    for (std::size_t split = 0; split <= length; split += 7) {
      InternetChecksum pieces;
      pieces.add(whole.first(split));
      pieces.add(whole.subspan(split));
      EXPECT_EQ(pieces.finish(), reference_checksum(whole)) << length << " split at " << split;
    }
  }
}

} // namespace
} // namespace morgana
