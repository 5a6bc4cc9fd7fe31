#include "morgana/net/tcp_receive_buffer.h"

#include <gtest/gtest.h>

#include <vector>

namespace morgana::net {
namespace {

using Data = std::vector<std::byte>;

// Byte i of the stream (relative to the first sequence number) is i mod 251.
Data stream_bytes(std::uint32_t offset, std::size_t count) {
  Data out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = std::byte(static_cast<std::uint8_t>((offset + i) % 251));
  return out;
}

class TcpReceiveBufferTest : public ::testing::Test {
protected:
  void start(std::uint32_t first, std::size_t capacity) {
    m_first = SequenceNumber(first);
    buffer.start(m_first);
    ASSERT_TRUE(buffer.allocate(capacity).has_value());
  }
  std::uint32_t insert(std::uint32_t offset, std::size_t count) {
    return buffer.insert(m_first + offset, stream_bytes(offset, count));
  }
  Data read(std::size_t count) {
    Data out(count);
    out.resize(buffer.read(out));
    return out;
  }
  std::vector<SackBlock> blocks(std::size_t count = TcpReceiveBuffer::max_ranges) {
    std::vector<SackBlock> out(count);
    out.resize(buffer.sack_blocks(out.data(), count));
    return out;
  }
  SackBlock block(std::uint32_t left, std::uint32_t right) const { return {m_first + left, m_first + right}; }
  SequenceNumber at(std::uint32_t offset) const { return m_first + offset; }

  TcpReceiveBuffer buffer;
  SequenceNumber m_first;
};

TEST_F(TcpReceiveBufferTest, HoldsNothingBeforeAllocation) {
  TcpReceiveBuffer fresh;
  fresh.start(SequenceNumber(100));
  EXPECT_FALSE(fresh.allocated());
  EXPECT_EQ(fresh.next(), SequenceNumber(100));
  EXPECT_EQ(fresh.insert(SequenceNumber(100), stream_bytes(0, 10)), 0u);
  EXPECT_EQ(fresh.next(), SequenceNumber(100));
}

// RFC 9293 §3.10.7.4: in-order text moves RCV.NXT; the window shrinks by what waits unread.
TEST_F(TcpReceiveBufferTest, InOrderDataAdvancesAndShrinksTheWindow) {
  start(1000, 100);
  EXPECT_EQ(buffer.window(), 100u);
  EXPECT_EQ(insert(0, 30), 30u);
  EXPECT_EQ(buffer.next(), at(30));
  EXPECT_EQ(buffer.readable(), 30u);
  EXPECT_EQ(buffer.window(), 70u);
  EXPECT_EQ(insert(30, 20), 20u);
  EXPECT_EQ(read(25), stream_bytes(0, 25));
  EXPECT_EQ(buffer.window(), 75u);
  EXPECT_EQ(read(100), stream_bytes(25, 25));
  EXPECT_EQ(buffer.window(), 100u);
  EXPECT_FALSE(buffer.has_gaps());
}

// RFC 9293 §3.10.7.4: text beyond the window is cut off; text wholly beyond it is dropped.
TEST_F(TcpReceiveBufferTest, TrimsToTheWindow) {
  start(0, 50);
  EXPECT_EQ(insert(0, 80), 50u);
  EXPECT_EQ(buffer.window(), 0u);
  EXPECT_EQ(insert(50, 10), 0u);
  EXPECT_EQ(buffer.next(), at(50));
  EXPECT_EQ(read(100), stream_bytes(0, 50));
  EXPECT_EQ(insert(60, 10), 0u); // held out of order now that there is room
  EXPECT_TRUE(buffer.has_gaps());
  EXPECT_EQ(insert(200, 10), 0u); // beyond the window
  EXPECT_EQ(blocks(), (std::vector<SackBlock>{block(60, 70)}));
}

// Old bytes (before RCV.NXT) are dropped; the new tail of an overlapping segment is kept.
TEST_F(TcpReceiveBufferTest, DropsOldBytesKeepsNewTail) {
  start(500, 100);
  ASSERT_EQ(insert(0, 20), 20u);
  EXPECT_EQ(insert(0, 20), 0u);
  EXPECT_EQ(insert(5, 10), 0u);
  EXPECT_EQ(insert(10, 20), 10u);
  EXPECT_EQ(read(100), stream_bytes(0, 30));
}

// RFC 2018 §4: held ranges merge when they touch or overlap, and fill in order.
TEST_F(TcpReceiveBufferTest, OutOfOrderRangesMergeAndFill) {
  start(7, 1000);
  EXPECT_EQ(insert(100, 50), 0u);
  EXPECT_EQ(insert(300, 50), 0u);
  EXPECT_EQ(insert(150, 50), 0u);  // touches 100-150
  EXPECT_EQ(insert(320, 100), 0u); // overlaps 300-350
  EXPECT_EQ(buffer.readable(), 0u);
  auto held = blocks();
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0], block(300, 420));
  EXPECT_EQ(held[1], block(100, 200));
  EXPECT_EQ(insert(190, 120), 0u); // bridges both into one
  EXPECT_EQ(blocks(), (std::vector<SackBlock>{block(100, 420)}));
  EXPECT_EQ(insert(0, 100), 420u); // the gap fills: everything becomes readable
  EXPECT_FALSE(buffer.has_gaps());
  EXPECT_EQ(buffer.next(), at(420));
  EXPECT_EQ(read(1000), stream_bytes(0, 420));
}

// A gap fill stops at the next hole.
TEST_F(TcpReceiveBufferTest, FillStopsAtTheNextHole) {
  start(0, 1000);
  EXPECT_EQ(insert(10, 10), 0u);
  EXPECT_EQ(insert(30, 10), 0u);
  EXPECT_EQ(insert(0, 10), 20u);
  EXPECT_EQ(blocks(), (std::vector<SackBlock>{block(30, 40)}));
  EXPECT_EQ(insert(20, 10), 20u);
  EXPECT_EQ(read(100), stream_bytes(0, 40));
}

// RFC 2018 §4: the first block is the range most recently changed, then the others by recency.
TEST_F(TcpReceiveBufferTest, SackBlocksMostRecentFirst) {
  start(0, 10000);
  insert(1000, 100);
  insert(3000, 100);
  insert(2000, 100);
  EXPECT_EQ(blocks(), (std::vector<SackBlock>{block(2000, 2100), block(3000, 3100), block(1000, 1100)}));
  insert(1100, 100); // extends the oldest: now the most recent
  EXPECT_EQ(blocks(), (std::vector<SackBlock>{block(1000, 1200), block(2000, 2100), block(3000, 3100)}));
  EXPECT_EQ(blocks(2), (std::vector<SackBlock>{block(1000, 1200), block(2000, 2100)}));
}

// At most max_ranges ranges are remembered; the one furthest out is forgotten first.
TEST_F(TcpReceiveBufferTest, RangesAreBounded) {
  start(0, 100000);
  for (std::uint32_t i = 1; i <= TcpReceiveBuffer::max_ranges; ++i) insert(i * 100, 10);
  EXPECT_EQ(blocks().size(), TcpReceiveBuffer::max_ranges);
  insert(5000, 10); // furthest out: not remembered
  auto held = blocks();
  EXPECT_EQ(held.size(), TcpReceiveBuffer::max_ranges);
  EXPECT_EQ(held[0], block(1600, 1610));
  insert(50, 10); // nearer: remembered, the furthest (1600) forgotten
  held = blocks();
  ASSERT_EQ(held.size(), TcpReceiveBuffer::max_ranges);
  EXPECT_EQ(held[0], block(50, 60));
  for (const auto& range : held) EXPECT_NE(range, block(1600, 1610));
  // Filling the holes commits up to the forgotten range, which the peer will send again.
  EXPECT_EQ(insert(0, 50), 60u);
  EXPECT_EQ(insert(60, 1540), 1540u);
  EXPECT_EQ(buffer.next(), at(1600));
  EXPECT_FALSE(buffer.has_gaps());
  EXPECT_EQ(read(100000), stream_bytes(0, 1600));
}

// RFC 9293 §3.4: ranges and RCV.NXT across 2^32, and the ring's wrap, together.
TEST_F(TcpReceiveBufferTest, WrapsInSequenceSpaceAndInTheRing) {
  start(0xffffff00, 512);
  std::uint32_t delivered = 0;
  for (int round = 0; round < 8; ++round) {
    std::uint32_t base = delivered;
    EXPECT_EQ(insert(base + 100, 100), 0u);
    EXPECT_EQ(blocks(), (std::vector<SackBlock>{block(base + 100, base + 200)}));
    EXPECT_EQ(insert(base, 100), 200u);
    delivered += 200;
    EXPECT_EQ(read(300), stream_bytes(base, 200)) << round;
  }
  EXPECT_EQ(buffer.next(), SequenceNumber(0xffffff00 + 1600));
  EXPECT_EQ(buffer.next().value(), 0x540u);
}

// Held data does not shrink the window: it may be reneged (RFC 2018 §8) and sits inside it.
TEST_F(TcpReceiveBufferTest, WindowCountsOnlyInOrderData) {
  start(0, 100);
  insert(50, 30);
  EXPECT_EQ(buffer.window(), 100u);
  insert(0, 50);
  EXPECT_EQ(buffer.window(), 20u);
  EXPECT_EQ(buffer.readable(), 80u);
}

// RCV.NXT passes a FIN (or SYN) without data.
TEST_F(TcpReceiveBufferTest, ControlBitsAdvanceRcvNxt) {
  start(0xffffffff, 10);
  buffer.advance_for_control();
  EXPECT_EQ(buffer.next(), SequenceNumber(0));
  EXPECT_EQ(buffer.readable(), 0u);
}

} // namespace
} // namespace morgana::net
