#include "morgana/platform/pvh/virtqueue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "morgana/core/counter.h"
#include "morgana/platform/pvh/heap.h"
#include "pvh_heap.h"

namespace morgana::pvh::virtio {
namespace {

using morgana::test_support::give_the_heap_memory;

template <class T>
T load(std::uint64_t address) {
  T value;
  std::memcpy(&value, reinterpret_cast<const void*>(address), sizeof value); // NOLINT(performance-no-int-to-ptr)
  return value;
}

template <class T>
void store(std::uint64_t address, T value) {
  std::memcpy(reinterpret_cast<void*>(address), &value, sizeof value); // NOLINT(performance-no-int-to-ptr)
}

// The device side of one split virtqueue (virtio 1.1, 2.6), behind the
// transport interface: it reads what the driver made available and returns
// used buffers as a device would.
class FakeDevice final : public Transport {
public:
  struct Buffer {
    std::uint16_t id;
    std::uint64_t address;
    std::uint32_t length;
    std::uint16_t flags;
    std::uint16_t next;
  };

  std::uint16_t max_size = 256;
  bool fixed_size = false;
  std::optional<QueueAreas> areas;
  std::uint16_t size = 0;
  int notifications = 0;

  void format(FormatSink& sink) const override { sink.write("fake"); }
  std::uint32_t device_id() const override { return device_net; }
  bool legacy() const override { return false; }
  std::uint8_t status() override { return 0; }
  void set_status(std::uint8_t) override {}
  void reset() override {}
  std::uint64_t device_features() override { return 0; }
  void set_driver_features(std::uint64_t) override {}
  std::uint32_t config_generation() override { return 0; }
  std::uint8_t config_read8(std::size_t) override { return 0; }
  std::uint16_t config_read16(std::size_t) override { return 0; }
  std::uint32_t config_read32(std::size_t) override { return 0; }
  std::uint16_t queue_max_size(std::uint16_t index) override { return index == 0 ? max_size : 0; }
  bool queue_size_fixed() const override { return fixed_size; }
  Result<void> activate_queue(std::uint16_t index, std::uint16_t queue_size, const QueueAreas& queue_areas) override {
    if (index != 0) return fail(Errc::invalid_argument, "no such queue");
    size = queue_size;
    areas = queue_areas;
    return {};
  }
  void notify(std::uint16_t index) override {
    EXPECT_EQ(index, 0);
    ++notifications;
  }
  Result<void> enable_interrupts(std::uint8_t, std::uint8_t) override { return {}; }
  void acknowledge_interrupt() override {}

  // 2.6.6: avail->idx and avail->flags.
  [[nodiscard]] std::uint16_t available_index() const { return load<std::uint16_t>(areas->available_ring + 2); }
  [[nodiscard]] std::uint16_t available_flags() const { return load<std::uint16_t>(areas->available_ring); }

  // Every buffer made available since the last call, with its descriptor (2.6.5).
  std::vector<Buffer> take_available() {
    std::vector<Buffer> buffers;
    for (auto end = available_index(); m_seen != end; ++m_seen) {
      auto id = load<std::uint16_t>(areas->available_ring + 4 + 2 * std::size_t(m_seen % size));
      auto descriptor = areas->descriptor_table + 16 * std::size_t{id};
      buffers.push_back({id, load<std::uint64_t>(descriptor), load<std::uint32_t>(descriptor + 8),
                         load<std::uint16_t>(descriptor + 12), load<std::uint16_t>(descriptor + 14)});
    }
    return buffers;
  }

  // Returns a buffer: the used ring entry, then the index (2.6.8).
  void use(std::uint32_t id, std::uint32_t length) {
    auto element = areas->used_ring + 4 + 8 * std::size_t(m_used % size);
    store<std::uint32_t>(element, id);
    store<std::uint32_t>(element + 4, length);
    ++m_used;
    store<std::uint16_t>(areas->used_ring + 2, m_used);
  }

  // 2.6.10: VIRTQ_USED_F_NO_NOTIFY.
  void set_no_notify(bool on) { store<std::uint16_t>(areas->used_ring, on ? 1 : 0); }

private:
  std::uint16_t m_seen = 0;
  std::uint16_t m_used = 0;
};

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
