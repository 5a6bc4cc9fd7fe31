#include "morgana/net/tcp_sequence.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace morgana::net {
namespace {

constexpr std::uint32_t top = 0xffffffff;
constexpr std::uint32_t half = 0x80000000;

SequenceNumber seq(std::uint32_t value) { return SequenceNumber(value); }

static_assert(SequenceNumber(top) + 1 == SequenceNumber(0), "addition is constexpr and wraps");
static_assert(SequenceNumber(0xfffffff0) < SequenceNumber(0x10), "comparison is constexpr and modular");
static_assert(in_window(SequenceNumber(1), SequenceNumber(top), 3), "in_window is constexpr and modular");

TEST(SequenceNumber, DefaultsToZeroAndKeepsItsValue) {
  EXPECT_EQ(SequenceNumber().value(), 0u);
  EXPECT_EQ(seq(1243615644).value(), 1243615644u);
}

TEST(SequenceNumber, AdditionWrapsAt2To32) {
  EXPECT_EQ(seq(top) + 1, seq(0));
  EXPECT_EQ(seq(top - 9) + 20, seq(10));
  EXPECT_EQ(seq(5) + top, seq(4)); // adding 2^32 - 1 steps back by one
  auto number = seq(top);
  number += 2;
  EXPECT_EQ(number, seq(1));
}

TEST(SequenceNumber, SubtractingAnOffsetWrapsBelowZero) {
  EXPECT_EQ(seq(0) - 1, seq(top));
  EXPECT_EQ(seq(3) - 10, seq(top - 6));
  auto number = seq(1);
  number -= 2;
  EXPECT_EQ(number, seq(top));
}

TEST(SequenceNumber, DifferenceIsTheSignedDistanceAcrossTheWrap) {
  EXPECT_EQ(seq(10) - seq(3), 7);
  EXPECT_EQ(seq(3) - seq(10), -7);
  EXPECT_EQ(seq(5) - seq(top - 4), 10);
  EXPECT_EQ(seq(top - 4) - seq(5), -10);
  EXPECT_EQ(seq(half - 1) - seq(0), std::numeric_limits<std::int32_t>::max());
  // Exactly half the space apart: the distance is the most negative value either way.
  EXPECT_EQ(seq(half) - seq(0), std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(seq(0) - seq(half), std::numeric_limits<std::int32_t>::min());
}

TEST(SequenceNumber, ComparesModularlyAcrossTheWrap) {
  auto before = seq(0xfffffff0);
  auto after = seq(0x10);
  EXPECT_TRUE(before < after);
  EXPECT_TRUE(before <= after);
  EXPECT_FALSE(before > after);
  EXPECT_FALSE(before >= after);
  EXPECT_TRUE(after > before);
  EXPECT_TRUE(after >= before);
  EXPECT_FALSE(after < before);
  EXPECT_FALSE(after <= before);
  EXPECT_NE(before, after);
}

TEST(SequenceNumber, EqualNumbersAreNeitherLessNorGreater) {
  EXPECT_EQ(seq(top), seq(top));
  EXPECT_FALSE(seq(top) < seq(top));
  EXPECT_FALSE(seq(top) > seq(top));
  EXPECT_TRUE(seq(top) <= seq(top));
  EXPECT_TRUE(seq(top) >= seq(top));
}

TEST(SequenceNumber, OrderFlipsAtHalfTheSpace) {
  EXPECT_TRUE(seq(0) < seq(half - 1));
  EXPECT_TRUE(seq(0) > seq(half + 1)); // more than 2^31 ahead reads as behind
  // Exactly 2^31 apart each is "less" than the other: no total order exists.
  EXPECT_TRUE(seq(0) < seq(half));
  EXPECT_TRUE(seq(half) < seq(0));
}

TEST(SequenceNumber, MaxAndMinFollowTheModularOrder) {
  EXPECT_EQ(seq_max(seq(top), seq(1)), seq(1));
  EXPECT_EQ(seq_max(seq(1), seq(top)), seq(1));
  EXPECT_EQ(seq_min(seq(top), seq(1)), seq(top));
  EXPECT_EQ(seq_min(seq(1), seq(top)), seq(top));
  EXPECT_EQ(seq_max(seq(7), seq(7)), seq(7));
}

TEST(SequenceNumberWindow, EmptyWindowHoldsNothing) {
  EXPECT_FALSE(in_window(seq(100), seq(100), 0));
  EXPECT_FALSE(in_window(seq(99), seq(100), 0));
  EXPECT_FALSE(in_window(seq(101), seq(100), 0));
}

TEST(SequenceNumberWindow, HoldsStartButNotStartPlusSize) {
  EXPECT_TRUE(in_window(seq(100), seq(100), 1));
  EXPECT_FALSE(in_window(seq(101), seq(100), 1));
  EXPECT_FALSE(in_window(seq(99), seq(100), 1));
  EXPECT_TRUE(in_window(seq(149), seq(100), 50));
  EXPECT_FALSE(in_window(seq(150), seq(100), 50));
}

TEST(SequenceNumberWindow, SpansTheWrap) {
  auto start = seq(top - 1);
  EXPECT_FALSE(in_window(seq(top - 2), start, 4));
  EXPECT_TRUE(in_window(seq(top - 1), start, 4));
  EXPECT_TRUE(in_window(seq(top), start, 4));
  EXPECT_TRUE(in_window(seq(0), start, 4));
  EXPECT_TRUE(in_window(seq(1), start, 4));
  EXPECT_FALSE(in_window(seq(2), start, 4));
}

TEST(SequenceNumberWindow, LargestWindowHoldsAllButOneNumber) {
  auto start = seq(5);
  EXPECT_TRUE(in_window(seq(5), start, top));
  EXPECT_TRUE(in_window(seq(5) + half, start, top));
  EXPECT_TRUE(in_window(seq(3), start, top));
  EXPECT_FALSE(in_window(seq(4), start, top));
}

TEST(SequenceNumber, FormatsAsItsUnsignedValue) {
  StringBuilder<32> text;
  format_to(text, "seq={} next={}", seq(top), seq(top) + 1);
  EXPECT_EQ(text.view(), "seq=4294967295 next=0");
}

} // namespace
} // namespace morgana::net
