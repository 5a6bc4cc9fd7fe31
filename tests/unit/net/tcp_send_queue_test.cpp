// The send queue: copied and referenced pieces behind one sequence space.

#include "morgana/net/tcp_send_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <string>
#include <vector>

namespace morgana::net {
namespace {

// A body as a store hands it out: bytes kept alive by their owner.
SharedBytes owned_body(std::size_t length, char first, std::weak_ptr<const void>* watch = nullptr) {
  std::string text(length, '\0');
  std::iota(text.begin(), text.end(), first);
  auto owner = std::make_shared<const std::string>(std::move(text));
  if (watch) *watch = owner;
  return {as_bytes(*owner), owner};
}

std::string read_out(const TcpSendQueue& queue, std::size_t offset, std::size_t length) {
  std::string out(length, '?');
  queue.copy_out(offset, as_writable_bytes(std::span(out)));
  return out;
}

TEST(TcpSendQueue, CopyOutCrossesPieceBoundaries) {
  TcpSendQueue queue;
  ASSERT_TRUE(queue.allocate(64 * 1024));
  auto body = owned_body(5000, 'a');
  EXPECT_EQ(queue.write(as_bytes("HEAD\r\n")), 6u);
  EXPECT_EQ(queue.write(body), 5000u);
  EXPECT_EQ(queue.write(as_bytes("tail")), 4u);
  EXPECT_EQ(queue.size(), 5010u);
  EXPECT_EQ(queue.pieces(), 3u);
  EXPECT_EQ(queue.referenced(), 5000u);
  std::string expected = "HEAD\r\n" + std::string(as_string(body.data)) + "tail";
  EXPECT_EQ(read_out(queue, 0, 5010), expected);
  // Ranges starting and ending inside pieces, and one inside a single piece.
  EXPECT_EQ(read_out(queue, 3, 1500), expected.substr(3, 1500));
  EXPECT_EQ(read_out(queue, 4990, 20), expected.substr(4990, 20));
  EXPECT_EQ(read_out(queue, 1000, 100), expected.substr(1000, 100));
}

TEST(TcpSendQueue, TrimmingKeepsTheOrderAndTheOwnerUntilItsLastByte) {
  TcpSendQueue queue;
  ASSERT_TRUE(queue.allocate(64 * 1024));
  std::weak_ptr<const void> watch;
  {
    auto body = owned_body(3000, 'k', &watch);
    queue.write(as_bytes("head"));
    queue.write(body);
    queue.write(as_bytes("next"));
  }
  // The queue is all that keeps the body alive now.
  ASSERT_FALSE(watch.expired());
  std::string expected = read_out(queue, 0, queue.size());
  queue.consume(2000); // ACK inside the body
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(read_out(queue, 0, queue.size()), expected.substr(2000));
  queue.consume(1003); // ACK one byte short of the body's end
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(read_out(queue, 0, 5), expected.substr(3003, 5));
  queue.consume(1); // the body's last byte
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(queue.pieces(), 1u);
  EXPECT_EQ(read_out(queue, 0, 4), "next");
  queue.consume(100); // more than queued: everything
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.pieces(), 0u);
}

// The copied bytes wrap around the ring while referenced pieces sit between them.
TEST(TcpSendQueue, CopiedBytesWrapAroundTheRing) {
  TcpSendQueue queue;
  ASSERT_TRUE(queue.allocate(4096));
  std::string expected;
  std::size_t offset = 0; // of expected's first byte still queued
  for (int round = 0; round < 20; ++round) {
    std::string small(700, static_cast<char>('A' + round));
    auto body = owned_body(1200, static_cast<char>(round));
    ASSERT_EQ(queue.write(as_bytes(small)), 700u);
    ASSERT_EQ(queue.write(body), 1200u);
    expected += small;
    expected += as_string(body.data);
    ASSERT_EQ(read_out(queue, 0, queue.size()), expected.substr(offset));
    queue.consume(1900);
    offset += 1900;
    ASSERT_EQ(queue.size(), expected.size() - offset);
  }
}

TEST(TcpSendQueue, BackpressureCountsReferencedBytes) {
  TcpSendQueue queue;
  ASSERT_TRUE(queue.allocate(16 * 1024));
  auto body = owned_body(100'000, 'z');
  // A body larger than the queue is taken as far as it fits, like a copied write.
  EXPECT_EQ(queue.write(body), 16u * 1024);
  EXPECT_EQ(queue.free(), 0u);
  EXPECT_EQ(queue.write(as_bytes("more")), 0u);
  EXPECT_EQ(queue.write(body.slice(16 * 1024, 1000)), 0u);
  queue.consume(5000);
  // The rest continues the same piece.
  EXPECT_EQ(queue.write(body.slice(16 * 1024, 100'000 - 16 * 1024)), 5000u);
  EXPECT_EQ(queue.pieces(), 1u);
  EXPECT_EQ(read_out(queue, 0, queue.size()), std::string(as_string(body.data.subspan(5000, 16 * 1024))));
}

TEST(TcpSendQueue, ReferencedBytesCostNoMemory) {
  TcpSendQueue queue;
  EXPECT_EQ(queue.memory(), 0u);
  ASSERT_TRUE(queue.allocate(16 * 1024));
  auto allocated = queue.memory();
  EXPECT_GE(allocated, 16u * 1024);
  queue.write(owned_body(8000, 'r'));
  EXPECT_EQ(queue.memory(), allocated);
  EXPECT_EQ(queue.referenced(), 8000u);
}

TEST(TcpSendQueue, ShortAndOverflowingReferencesAreCopied) {
  TcpSendQueue queue;
  ASSERT_TRUE(queue.allocate(256 * 1024));
  auto small = owned_body(TcpSendQueue::reference_threshold - 1, 's');
  queue.write(small);
  EXPECT_EQ(queue.referenced(), 0u);
  // Distinct bodies, each its own piece, until the table is nearly full.
  std::vector<SharedBytes> bodies;
  std::string expected(as_string(small.data));
  for (std::size_t i = 0; i < TcpSendQueue::max_pieces + 5; ++i) {
    bodies.push_back(owned_body(2000, static_cast<char>(i)));
    ASSERT_EQ(queue.write(bodies.back()), 2000u);
    expected += as_string(bodies.back().data);
  }
  // The short copy, bodies referenced while two entries were left, then the
  // rest copied into the last entry.
  EXPECT_EQ(queue.pieces(), TcpSendQueue::max_pieces);
  EXPECT_EQ(queue.referenced(), (TcpSendQueue::max_pieces - 2) * 2000);
  // A copied write still finds room, and everything reads back in order.
  ASSERT_EQ(queue.write(as_bytes("end")), 3u);
  expected += "end";
  EXPECT_EQ(queue.pieces(), TcpSendQueue::max_pieces);
  EXPECT_EQ(read_out(queue, 0, queue.size()), expected);
}

} // namespace
} // namespace morgana::net
