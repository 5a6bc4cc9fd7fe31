#include "morgana/platform/pvh/virtqueue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "morgana/core/counter.h"
#include "morgana/platform/pvh/heap.h"
#include "pvh_heap.h"
#include "virtio_fake.h"

namespace morgana::pvh::virtio {
namespace {

using morgana::test_support::give_the_heap_memory;
using test::FakeDevice;

class VirtqueueTest : public ::testing::Test {
protected:
  void SetUp() override { give_the_heap_memory(); }

  std::unique_ptr<Virtqueue> create(std::uint16_t wanted) {
    auto queue = Virtqueue::create(device, 0, wanted);
    EXPECT_TRUE(queue.has_value());
    return queue ? std::move(*queue) : nullptr;
  }

  FakeDevice device;
};

TEST_F(VirtqueueTest, SizeIsAPowerOfTwoWithinTheDevicesLimit) {
  device.max_size = 256;
  auto queue = create(100);
  ASSERT_NE(queue, nullptr);
  EXPECT_EQ(queue->size(), 64);
  EXPECT_EQ(device.size, 64);

  FakeDevice small;
  small.max_size = 8;
  auto limited = Virtqueue::create(small, 0, 1024);
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ((*limited)->size(), 8);
}

TEST_F(VirtqueueTest, LegacyFixedSizeIsTakenAsIsAndMustBeAPowerOfTwo) {
  device.fixed_size = true;
  device.max_size = 128;
  auto queue = create(16);
  ASSERT_NE(queue, nullptr);
  EXPECT_EQ(queue->size(), 128);

  FakeDevice odd;
  odd.fixed_size = true;
  odd.max_size = 100;
  auto refused = Virtqueue::create(odd, 0, 16);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::unsupported);
}

TEST_F(VirtqueueTest, MissingQueueFails) {
  auto missing = Virtqueue::create(device, 1, 16);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_F(VirtqueueTest, AreasFollowTheLegacyLayout) {
  auto queue = create(16);
  ASSERT_TRUE(device.areas);
  // 2.6.2: the descriptor table page-aligned, the available ring right after
  // it, the used ring on the next page boundary.
  EXPECT_EQ(device.areas->descriptor_table % 4096, 0u);
  EXPECT_EQ(device.areas->available_ring, device.areas->descriptor_table + 16 * 16);
  EXPECT_EQ(device.areas->used_ring % 4096, 0u);
  EXPECT_GT(device.areas->used_ring, device.areas->available_ring + 4 + 2 * 16);
  EXPECT_EQ(device.available_index(), 0);
}

TEST_F(VirtqueueTest, DeviceSeesEachBufferAsOneDescriptor) {
  auto queue = create(16);
  queue->make_available(3, 0x1000, 1514, true);
  queue->make_available(7, 0x2000, 60, false);
  auto buffers = device.take_available();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].id, 3);
  EXPECT_EQ(buffers[0].address, 0x1000u);
  EXPECT_EQ(buffers[0].length, 1514u);
  EXPECT_EQ(buffers[0].flags, 2) << "VIRTQ_DESC_F_WRITE only: no chain (NEXT) and no indirect table";
  EXPECT_EQ(buffers[1].id, 7);
  EXPECT_EQ(buffers[1].address, 0x2000u);
  EXPECT_EQ(buffers[1].length, 60u);
  EXPECT_EQ(buffers[1].flags, 0);
  EXPECT_TRUE(device.take_available().empty());
}

TEST_F(VirtqueueTest, NotifiesOnlyForNewBuffersAndWhenTheDeviceWantsIt) {
  auto queue = create(16);
  queue->notify();
  EXPECT_EQ(device.notifications, 0) << "nothing offered yet";
  queue->make_available(0, 0x1000, 100, true);
  queue->make_available(1, 0x2000, 100, true);
  queue->notify();
  EXPECT_EQ(device.notifications, 1);
  queue->notify();
  EXPECT_EQ(device.notifications, 1);

  device.set_no_notify(true);
  queue->make_available(2, 0x3000, 100, true);
  queue->notify();
  EXPECT_EQ(device.notifications, 1);
  device.set_no_notify(false);
  queue->notify();
  EXPECT_EQ(device.notifications, 1) << "already counted as notified";
  queue->make_available(3, 0x4000, 100, true);
  queue->notify();
  EXPECT_EQ(device.notifications, 2);
}

TEST_F(VirtqueueTest, UsedBuffersComeBackInOrderWithTheirLengths) {
  auto queue = create(16);
  EXPECT_FALSE(queue->has_used());
  EXPECT_FALSE(queue->take_used());
  for (std::uint16_t id = 0; id < 4; ++id) queue->make_available(id, 0x1000 * (id + 1u), 2048, true);
  auto buffers = device.take_available();
  ASSERT_EQ(buffers.size(), 4u);
  device.use(2, 60);
  device.use(0, 1514);
  EXPECT_TRUE(queue->has_used());
  auto first = queue->take_used();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, 2);
  EXPECT_EQ(first->length, 60u);
  auto second = queue->take_used();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->id, 0);
  EXPECT_EQ(second->length, 1514u);
  EXPECT_FALSE(queue->has_used());
  EXPECT_FALSE(queue->take_used());
}

TEST_F(VirtqueueTest, FullQueueHoldsEveryDescriptorAtOnce) {
  auto queue = create(8);
  for (std::uint16_t id = 0; id < 8; ++id) queue->make_available(id, 0x1000 * (id + 1u), 512, true);
  auto buffers = device.take_available();
  ASSERT_EQ(buffers.size(), 8u);
  for (std::uint16_t id = 0; id < 8; ++id) EXPECT_EQ(buffers[id].id, id);
  for (std::uint16_t id = 8; id-- > 0;) device.use(id, id * 10u);
  for (std::uint16_t id = 8; id-- > 0;) {
    auto used = queue->take_used();
    ASSERT_TRUE(used);
    EXPECT_EQ(used->id, id);
    EXPECT_EQ(used->length, id * 10u);
  }
  EXPECT_FALSE(queue->take_used());
}

// The rings wrap every `size` entries and the 16-bit indices every 65536:
// three buffers stay in flight, the device uses the oldest, the driver offers it again.
TEST_F(VirtqueueTest, RingsAndIndicesWrapAround) {
  auto queue = create(4);
  auto address_of = [](std::uint16_t id) { return 0x10000 + 0x1000 * std::uint64_t{id}; };
  for (std::uint16_t id = 0; id < 3; ++id) queue->make_available(id, address_of(id), 256, true);
  std::vector<std::uint16_t> in_flight;
  for (const auto& buffer : device.take_available()) in_flight.push_back(buffer.id);
  ASSERT_EQ(in_flight.size(), 3u);
  constexpr std::uint32_t rounds = 70'000;
  for (std::uint32_t round = 0; round < rounds; ++round) {
    auto id = in_flight.front();
    in_flight.erase(in_flight.begin());
    device.use(id, round);
    auto used = queue->take_used();
    ASSERT_TRUE(used) << round;
    ASSERT_EQ(used->id, id) << round;
    ASSERT_EQ(used->length, round);
    ASSERT_FALSE(queue->has_used()) << round;
    queue->make_available(id, address_of(id), 256, true);
    auto offered = device.take_available();
    ASSERT_EQ(offered.size(), 1u) << round;
    ASSERT_EQ(offered[0].id, id);
    ASSERT_EQ(offered[0].address, address_of(id));
    in_flight.push_back(id);
  }
  EXPECT_EQ(device.available_index(), static_cast<std::uint16_t>(3 + rounds));
}

TEST_F(VirtqueueTest, UsedIdsOutsideTheTableAreSkippedAndCounted) {
  auto* counter = Counter::find("virtio.bad_used_id");
  ASSERT_NE(counter, nullptr);
  auto before = counter->value();
  auto queue = create(8);
  queue->make_available(5, 0x1000, 100, true);
  (void)device.take_available();
  device.use(8, 100);
  device.use(0xffff, 100);
  device.use(5, 42);
  auto used = queue->take_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->id, 5);
  EXPECT_EQ(used->length, 42u);
  EXPECT_EQ(counter->value(), before + 2);
}

TEST_F(VirtqueueTest, SuppressInterruptsSetsTheAvailableFlag) {
  auto queue = create(8);
  EXPECT_EQ(device.available_flags(), 0);
  queue->suppress_interrupts();
  EXPECT_EQ(device.available_flags(), 1); // VIRTQ_AVAIL_F_NO_INTERRUPT
}

TEST_F(VirtqueueTest, ChainLinksItsDescriptorsAndIsOfferedUnderItsHead) {
  auto queue = create(16);
  const Virtqueue::Part parts[] = {{9, 0x1000, 12, false}, {4, 0x2000, 4096, false}, {11, 0x3000, 100, false}};
  queue->make_available(parts);
  auto heads = device.take_available();
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads[0].id, 9);
  auto chain = device.chain(heads[0]);
  ASSERT_EQ(chain.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(chain[i].id, parts[i].id);
    EXPECT_EQ(chain[i].address, parts[i].address);
    EXPECT_EQ(chain[i].length, parts[i].length);
  }
  EXPECT_EQ(chain[0].flags, 1) << "VIRTQ_DESC_F_NEXT";
  EXPECT_EQ(chain[0].next, 4);
  EXPECT_EQ(chain[1].flags, 1);
  EXPECT_EQ(chain[1].next, 11);
  EXPECT_EQ(chain[2].flags, 0) << "the last has no NEXT";
  device.use(9, 0);
  auto used = queue->take_used();
  ASSERT_TRUE(used);
  EXPECT_EQ(used->id, 9);
}

// 2.6.10.1: with EVENT_IDX the driver notifies only when the device's
// avail_event lies among the indices published since the last notify().
TEST_F(VirtqueueTest, EventIndexNotifiesOnlyWhenAvailEventIsReached) {
  auto queue = Virtqueue::create(device, 0, 16, true);
  ASSERT_TRUE(queue);
  auto& q = **queue;
  device.set_available_event(0);
  q.make_available(0, 0x1000, 100, false);
  q.notify();
  EXPECT_EQ(device.notifications, 1) << "the device waits for index 0";
  q.make_available(1, 0x1000, 100, false);
  q.make_available(2, 0x1000, 100, false);
  q.notify();
  EXPECT_EQ(device.notifications, 1) << "a burst: the device has not caught up, no second doorbell";
  device.set_available_event(5);
  q.make_available(3, 0x1000, 100, false);
  q.notify();
  EXPECT_EQ(device.notifications, 1) << "index 3 published, the device waits for 5";
  q.make_available(4, 0x1000, 100, false);
  q.make_available(5, 0x1000, 100, false);
  q.notify();
  EXPECT_EQ(device.notifications, 2) << "indices 4 and 5 published: 5 reached";

  device.set_no_notify(true);
  device.set_available_event(6);
  q.make_available(6, 0x1000, 100, false);
  q.notify();
  EXPECT_EQ(device.notifications, 3) << "with EVENT_IDX the used ring's flags do not count";
}

TEST_F(VirtqueueTest, EventIndexNotificationAcrossTheIndexWrap) {
  auto queue = Virtqueue::create(device, 0, 16, true);
  ASSERT_TRUE(queue);
  auto& q = **queue;
  auto offer = [&](int count) {
    for (int i = 0; i < count; ++i) q.make_available(static_cast<std::uint16_t>(i % 16), 0x1000, 100, false);
  };
  device.set_available_event(0xfff0);
  offer(0xfff0);
  q.notify();
  EXPECT_EQ(device.notifications, 0) << "published 0..0xffef; the device waits for 0xfff0";
  device.set_available_event(0xfffe);
  offer(0xd);
  q.notify();
  EXPECT_EQ(device.notifications, 0) << "published 0xfff0..0xfffc";
  offer(4); // 0xfffd, 0xfffe, 0xffff, 0x0000: avail->idx wraps to 1
  q.notify();
  EXPECT_EQ(device.notifications, 1) << "0xfffe among the indices published across the wrap";
  EXPECT_EQ(device.available_index(), 1);
  device.set_available_event(2);
  offer(1);
  q.notify();
  EXPECT_EQ(device.notifications, 1) << "index 1 published, the device waits for 2";
  offer(1);
  q.notify();
  EXPECT_EQ(device.notifications, 2);
  device.set_available_event(0xffff); // behind: the device saw index 0xffff long ago
  offer(3);
  q.notify();
  EXPECT_EQ(device.notifications, 2) << "an avail_event behind the new indices asks for nothing";
}

// 2.6.7.2: used_event tells the device at which used index to interrupt.
TEST_F(VirtqueueTest, EventIndexRequestsAnInterruptAtTheNextUsedBuffer) {
  auto queue = Virtqueue::create(device, 0, 8, true);
  ASSERT_TRUE(queue);
  auto& q = **queue;
  for (std::uint16_t id = 0; id < 8; ++id) q.make_available(id, 0x1000, 100, true);
  (void)device.take_available();
  EXPECT_FALSE(q.request_interrupt()) << "nothing used yet";
  EXPECT_EQ(device.used_event(), 0);
  EXPECT_EQ(device.available_flags(), 0);
  device.use(3, 10);
  device.use(4, 10);
  EXPECT_TRUE(q.request_interrupt()) << "a buffer used before the request raised no interrupt: do not wait";
  ASSERT_TRUE(q.take_used());
  ASSERT_TRUE(q.take_used());
  EXPECT_EQ(device.used_event(), 0) << "consuming alone does not move the request: the device stays quiet";
  EXPECT_FALSE(q.request_interrupt());
  EXPECT_EQ(device.used_event(), 2) << "interrupt when the used index passes 2";
}

TEST_F(VirtqueueTest, EventIndexSuppressionKeepsUsedEventBehindAcrossTheWrap) {
  auto queue = Virtqueue::create(device, 0, 4, true);
  ASSERT_TRUE(queue);
  auto& q = **queue;
  q.suppress_interrupts();
  EXPECT_EQ(device.available_flags(), 0) << "2.6.7.2: flags stay 0 with EVENT_IDX";
  EXPECT_EQ(device.used_event(), 0xffff);
  for (std::uint32_t round = 0; round < 70'000; ++round) {
    auto id = static_cast<std::uint16_t>(round % 4);
    q.make_available(id, 0x1000, 100, false);
    device.use(id, 0);
    ASSERT_TRUE(q.take_used());
    // The device interrupts when its index moves past used_event (vring_need_event):
    // one behind what we consumed, it never does.
    ASSERT_EQ(device.used_event(), static_cast<std::uint16_t>(device.used_index() - 1)) << round;
  }
}

TEST_F(VirtqueueTest, QueueMemoryGoesBackToTheHeap) {
  auto before = heap().stats().in_use;
  {
    auto queue = create(256);
    EXPECT_GT(heap().stats().in_use, before + 3 * 4096);
  }
  EXPECT_EQ(heap().stats().in_use, before);
}

} // namespace
} // namespace morgana::pvh::virtio
