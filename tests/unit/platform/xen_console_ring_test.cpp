#include "morgana/platform/pvh/xen_console_ring.h"

#include <gtest/gtest.h>

#include <array>
#include <string>

namespace morgana::pvh::xen {
namespace {

constexpr std::size_t ring_size = 16;

// The ring's bytes from `consumer` up to `producer`, as the backend would read them.
std::string drain(const std::array<char, ring_size>& ring, std::uint32_t consumer, std::uint32_t producer) {
  std::string text;
  for (; consumer != producer; ++consumer) text += ring[consumer & (ring_size - 1)];
  return text;
}

TEST(XenConsoleRing, WritesTextBehindTheProducer) {
  std::array<char, ring_size> ring{};
  std::uint32_t producer = 0;
  EXPECT_EQ(console_ring_write(ring, 0, producer, "abc"), 3u);
  EXPECT_EQ(producer, 3u);
  EXPECT_EQ(drain(ring, 0, producer), "abc");
}

TEST(XenConsoleRing, NewlineBecomesCarriageReturnNewline) {
  std::array<char, ring_size> ring{};
  std::uint32_t producer = 0;
  EXPECT_EQ(console_ring_write(ring, 0, producer, "a\nb"), 3u);
  EXPECT_EQ(drain(ring, 0, producer), "a\r\nb");
}

TEST(XenConsoleRing, StopsWhenFullAndTakesNothingFromAFullRing) {
  std::array<char, ring_size> ring{};
  std::uint32_t producer = 0;
  EXPECT_EQ(console_ring_write(ring, 0, producer, "0123456789abcdefXYZ"), 16u);
  EXPECT_EQ(producer, 16u);
  EXPECT_EQ(console_ring_write(ring, 0, producer, "more"), 0u);
  EXPECT_EQ(producer, 16u);
  // The consumer takes 3: exactly 3 more fit.
  EXPECT_EQ(console_ring_write(ring, 3, producer, "XYZW"), 3u);
  EXPECT_EQ(drain(ring, 3, producer), "3456789abcdefXYZ");
}

TEST(XenConsoleRing, NeverSplitsANewline) {
  std::array<char, ring_size> ring{};
  std::uint32_t producer = 15;
  EXPECT_EQ(console_ring_write(ring, 0, producer, "\n"), 0u);
  EXPECT_EQ(producer, 15u);
  EXPECT_EQ(console_ring_write(ring, 1, producer, "\nx"), 1u);
  EXPECT_EQ(producer, 17u);
}

TEST(XenConsoleRing, IndicesWrapAroundThirtyTwoBits) {
  std::array<char, ring_size> ring{};
  std::uint32_t consumer = 0xfffffff8, producer = 0xfffffffc; // 4 bytes in use
  EXPECT_EQ(console_ring_used(consumer, producer, ring_size), 4u);
  EXPECT_EQ(console_ring_write(ring, consumer, producer, "0123456789"), 10u);
  EXPECT_EQ(producer, 6u);
  EXPECT_EQ(console_ring_used(consumer, producer, ring_size), 14u);
  EXPECT_EQ(drain(ring, 0xfffffffc, producer), "0123456789");
  EXPECT_EQ(ring[12], '0');
  EXPECT_EQ(ring[5], '9');
}

TEST(XenConsoleRing, AConsumerBeyondTheProducerMeansFull) {
  std::array<char, ring_size> ring{};
  std::uint32_t producer = 4;
  EXPECT_EQ(console_ring_used(10, producer, ring_size), ring_size);
  EXPECT_EQ(console_ring_write(ring, 10, producer, "x"), 0u);
  EXPECT_EQ(producer, 4u);
}

} // namespace
} // namespace morgana::pvh::xen
