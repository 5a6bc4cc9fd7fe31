#include "morgana/core/ring_buffer.h"

#include <gtest/gtest.h>

#include <vector>

namespace morgana {
namespace {

std::vector<std::byte> bytes_from(std::uint8_t first, std::size_t count) {
  std::vector<std::byte> out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = std::byte(static_cast<std::uint8_t>(first + i));
  return out;
}

std::vector<std::byte> read_all(RingBuffer& ring) {
  std::vector<std::byte> out(ring.size());
  EXPECT_EQ(ring.read(out), out.size());
  return out;
}

TEST(RingBuffer, StartsEmpty) {
  RingBuffer ring;
  EXPECT_FALSE(ring.allocated());
  ASSERT_TRUE(ring.allocate(8).has_value());
  EXPECT_TRUE(ring.allocated());
  EXPECT_EQ(ring.capacity(), 8u);
  EXPECT_EQ(ring.size(), 0u);
  EXPECT_EQ(ring.free(), 8u);
  EXPECT_TRUE(ring.empty());
  std::byte out[4];
  EXPECT_EQ(ring.read(out), 0u);
}

TEST(RingBuffer, WriteTakesOnlyWhatFits) {
  RingBuffer ring;
  ASSERT_TRUE(ring.allocate(8).has_value());
  EXPECT_EQ(ring.write(bytes_from(0, 5)), 5u);
  EXPECT_EQ(ring.write(bytes_from(5, 5)), 3u);
  EXPECT_EQ(ring.free(), 0u);
  EXPECT_EQ(ring.write(bytes_from(9, 1)), 0u);
  EXPECT_EQ(read_all(ring), bytes_from(0, 8));
  EXPECT_TRUE(ring.empty());
}

TEST(RingBuffer, WrapsAroundTheEnd) {
  RingBuffer ring;
  ASSERT_TRUE(ring.allocate(8).has_value());
  for (std::uint8_t round = 0; round < 20; ++round) {
    // Sizes 1..7 move the read position through every offset.
    std::size_t count = 1 + round % 7;
    ASSERT_EQ(ring.write(bytes_from(round, count)), count);
    std::vector<std::byte> out(count);
    ASSERT_EQ(ring.read(out), count);
    EXPECT_EQ(out, bytes_from(round, count)) << int(round);
  }
}

TEST(RingBuffer, PartialReadsKeepTheRest) {
  RingBuffer ring;
  ASSERT_TRUE(ring.allocate(8).has_value());
  ASSERT_EQ(ring.write(bytes_from(0, 6)), 6u);
  std::vector<std::byte> out(4);
  ASSERT_EQ(ring.read(out), 4u);
  EXPECT_EQ(out, bytes_from(0, 4));
  ASSERT_EQ(ring.write(bytes_from(6, 6)), 6u); // wraps
  EXPECT_EQ(ring.size(), 8u);
  EXPECT_EQ(read_all(ring), bytes_from(4, 8));
}

TEST(RingBuffer, CopyOutAtAnOffsetAcrossTheWrap) {
  RingBuffer ring;
  ASSERT_TRUE(ring.allocate(8).has_value());
  ASSERT_EQ(ring.write(bytes_from(0, 6)), 6u);
  ring.consume(5);
  ASSERT_EQ(ring.write(bytes_from(6, 7)), 7u); // readable 5..12, stored across the end
  std::vector<std::byte> out(5);
  ring.copy_out(2, out);
  EXPECT_EQ(out, bytes_from(7, 5));
  EXPECT_EQ(ring.size(), 8u); // copy_out does not consume
}

TEST(RingBuffer, ConsumeIsClampedToSize) {
  RingBuffer ring;
  ASSERT_TRUE(ring.allocate(8).has_value());
  ASSERT_EQ(ring.write(bytes_from(0, 3)), 3u);
  ring.consume(10);
  EXPECT_TRUE(ring.empty());
  ASSERT_EQ(ring.write(bytes_from(3, 8)), 8u);
  EXPECT_EQ(read_all(ring), bytes_from(3, 8));
}

// write_at places bytes ahead without making them readable; commit does (TCP reassembly).
TEST(RingBuffer, WriteAtThenCommit) {
  RingBuffer ring;
  ASSERT_TRUE(ring.allocate(8).has_value());
  ASSERT_EQ(ring.write(bytes_from(0, 5)), 5u);
  ring.consume(5);                     // the read position is now near the end
  ring.write_at(3, bytes_from(13, 4)); // across the wrap, beyond a gap of 3
  EXPECT_EQ(ring.size(), 0u);
  ring.write_at(0, bytes_from(10, 3));
  ring.commit(7);
  EXPECT_EQ(ring.size(), 7u);
  EXPECT_EQ(read_all(ring), bytes_from(10, 7));
}

TEST(RingBuffer, CommitIsClampedToCapacity) {
  RingBuffer ring;
  ASSERT_TRUE(ring.allocate(4).has_value());
  ring.write_at(0, bytes_from(0, 4));
  ring.commit(100);
  EXPECT_EQ(ring.size(), 4u);
  EXPECT_EQ(ring.free(), 0u);
}

TEST(RingBuffer, ZeroCapacityHoldsNothing) {
  RingBuffer ring;
  ASSERT_TRUE(ring.allocate(0).has_value());
  EXPECT_EQ(ring.write(bytes_from(0, 3)), 0u);
  std::byte out[2];
  EXPECT_EQ(ring.read(out), 0u);
  ring.consume(1);
  EXPECT_TRUE(ring.empty());
}

TEST(RingBuffer, ReallocateStartsOver) {
  RingBuffer ring;
  ASSERT_TRUE(ring.allocate(4).has_value());
  ASSERT_EQ(ring.write(bytes_from(0, 3)), 3u);
  ASSERT_TRUE(ring.allocate(16).has_value());
  EXPECT_EQ(ring.capacity(), 16u);
  EXPECT_TRUE(ring.empty());
}

TEST(RingBuffer, MovesItsStorage) {
  RingBuffer ring;
  ASSERT_TRUE(ring.allocate(8).has_value());
  ASSERT_EQ(ring.write(bytes_from(0, 5)), 5u);
  RingBuffer moved = std::move(ring);
  EXPECT_EQ(read_all(moved), bytes_from(0, 5));
}

} // namespace
} // namespace morgana
