#include "morgana/core/packet.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

namespace morgana {
namespace {

TEST(PacketBuffer, CreateHasDefaultHeadroomAndNoTailroom) {
  auto packet = PacketBuffer::create(100).value();
  EXPECT_EQ(packet.size(), 100u);
  EXPECT_EQ(packet.headroom(), PacketBuffer::default_headroom);
  EXPECT_EQ(packet.tailroom(), 0u);
  EXPECT_FALSE(packet.empty());
  EXPECT_EQ(packet.data().size(), 100u);
}

TEST(PacketBuffer, CopyOfCopiesTheBytes) {
  auto text = as_bytes("payload");
  auto packet = PacketBuffer::copy_of(text, 16).value();
  EXPECT_EQ(packet.headroom(), 16u);
  EXPECT_EQ(as_string(packet.data()), "payload");
  EXPECT_NE(packet.data().data(), text.data());
}

TEST(PacketBuffer, CopyOfEmpty) {
  auto packet = PacketBuffer::copy_of(Bytes{}).value();
  EXPECT_TRUE(packet.empty());
  EXPECT_EQ(packet.headroom(), PacketBuffer::default_headroom);
}

TEST(PacketBuffer, DefaultConstructedIsEmpty) {
  PacketBuffer packet;
  EXPECT_TRUE(packet.empty());
  EXPECT_EQ(packet.headroom(), 0u);
  EXPECT_EQ(packet.tailroom(), 0u);
  EXPECT_EQ(packet.prepend(1).error().code, Errc::no_space);
  EXPECT_EQ(packet.trim_front(1).error().code, Errc::truncated);
}

TEST(PacketBuffer, PrependUpToHeadroom) {
  auto packet = PacketBuffer::copy_of(as_bytes("data"), 8).value();
  auto header = packet.prepend(3).value();
  std::memcpy(header.data(), "hdr", 3);
  EXPECT_EQ(packet.headroom(), 5u);
  EXPECT_EQ(as_string(packet.data()), "hdrdata");
  auto more = packet.prepend(5).value();
  EXPECT_EQ(more.size(), 5u);
  EXPECT_EQ(packet.headroom(), 0u);
  EXPECT_EQ(packet.size(), 12u);
  EXPECT_EQ(as_string(packet.data().subspan(5)), "hdrdata");
}

TEST(PacketBuffer, PrependPastHeadroomFailsAndChangesNothing) {
  auto packet = PacketBuffer::copy_of(as_bytes("data"), 8).value();
  auto result = packet.prepend(9);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::no_space);
  EXPECT_EQ(packet.headroom(), 8u);
  EXPECT_EQ(as_string(packet.data()), "data");
  ASSERT_TRUE(packet.prepend(8));
  EXPECT_EQ(packet.prepend(1).error().code, Errc::no_space);
}

TEST(PacketBuffer, AppendUsesTailroomOnly) {
  auto packet = PacketBuffer::copy_of(as_bytes("abcdef")).value();
  EXPECT_EQ(packet.append(1).error().code, Errc::no_space);
  ASSERT_TRUE(packet.truncate(2));
  EXPECT_EQ(packet.tailroom(), 4u);
  auto tail = packet.append(4).value();
  EXPECT_EQ(tail.data(), packet.data().data() + 2);
  EXPECT_EQ(as_string(packet.data()), "abcdef"); // the bytes were still there
  EXPECT_EQ(packet.append(1).error().code, Errc::no_space);
}

TEST(PacketBuffer, TrimFrontAndPrependAgain) {
  auto packet = PacketBuffer::copy_of(as_bytes("ethipudp"), 0).value();
  ASSERT_TRUE(packet.trim_front(3));
  EXPECT_EQ(as_string(packet.data()), "ipudp");
  EXPECT_EQ(packet.headroom(), 3u);
  // The stripped header's room can be used again on the way out.
  ASSERT_TRUE(packet.prepend(3));
  EXPECT_EQ(as_string(packet.data()), "ethipudp");
}

TEST(PacketBuffer, TrimFrontLimits) {
  auto packet = PacketBuffer::copy_of(as_bytes("abc")).value();
  EXPECT_EQ(packet.trim_front(4).error().code, Errc::truncated);
  EXPECT_EQ(packet.size(), 3u);
  ASSERT_TRUE(packet.trim_front(3));
  EXPECT_TRUE(packet.empty());
  EXPECT_EQ(packet.headroom(), PacketBuffer::default_headroom + 3);
  EXPECT_EQ(packet.trim_front(1).error().code, Errc::truncated);
  EXPECT_TRUE(packet.trim_front(0));
}

TEST(PacketBuffer, TruncateLimits) {
  auto packet = PacketBuffer::copy_of(as_bytes("frame+pad")).value();
  EXPECT_EQ(packet.truncate(10).error().code, Errc::truncated);
  EXPECT_EQ(packet.size(), 9u);
  ASSERT_TRUE(packet.truncate(9));
  ASSERT_TRUE(packet.truncate(5));
  EXPECT_EQ(as_string(packet.data()), "frame");
  EXPECT_EQ(packet.tailroom(), 4u);
  ASSERT_TRUE(packet.truncate(0));
  EXPECT_TRUE(packet.empty());
}

TEST(PacketBuffer, MoveTransfersAndEmptiesSource) {
  auto packet = PacketBuffer::copy_of(as_bytes("moved"), 4).value();
  const auto* bytes = packet.data().data();
  PacketBuffer other(std::move(packet));
  EXPECT_EQ(other.data().data(), bytes);
  EXPECT_EQ(as_string(other.data()), "moved");
  EXPECT_EQ(other.headroom(), 4u);
  // NOLINTBEGIN(bugprone-use-after-move): a moved-from buffer is empty, not a dangling view.
  EXPECT_TRUE(packet.empty());
  EXPECT_EQ(packet.headroom(), 0u);
  EXPECT_EQ(packet.tailroom(), 0u);
  EXPECT_EQ(packet.prepend(1).error().code, Errc::no_space);

  PacketBuffer assigned = PacketBuffer::copy_of(as_bytes("old")).value();
  assigned = std::move(other);
  EXPECT_EQ(as_string(assigned.data()), "moved");
  EXPECT_TRUE(other.empty());
  EXPECT_EQ(other.data().size(), 0u);
  // NOLINTEND(bugprone-use-after-move)
}

TEST(PacketBuffer, SizeOverflowFailsCleanly) {
  auto result = PacketBuffer::create(SIZE_MAX - 10, PacketBuffer::default_headroom);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::no_memory);
}

} // namespace
} // namespace morgana
