#pragma once

// The device side of one split virtqueue (virtio 1.1, 2.6), behind the
// transport interface, for the virtqueue and virtio-net unit tests: it reads
// what the driver made available (descriptor chains included) and returns used
// buffers as a device would, written from the specification's layouts on its
// own, not with the driver's code.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "morgana/platform/pvh/virtio.h"

namespace morgana::pvh::virtio::test {

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

class FakeDevice final : public Transport {
public:
  struct Buffer {
    std::uint16_t id;
    std::uint64_t address;
    std::uint32_t length;
    std::uint16_t flags;
    std::uint16_t next;
  };

  std::uint16_t queue_index = 0; // the one queue this device has
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
  std::uint16_t queue_max_size(std::uint16_t index) override { return index == queue_index ? max_size : 0; }
  bool queue_size_fixed() const override { return fixed_size; }
  Result<void> activate_queue(std::uint16_t index, std::uint16_t queue_size, const QueueAreas& queue_areas) override {
    if (index != queue_index) return fail(Errc::invalid_argument, "no such queue");
    size = queue_size;
    areas = queue_areas;
    return {};
  }
  void notify(std::uint16_t index) override {
    EXPECT_EQ(index, queue_index);
    ++notifications;
  }
  Result<void> enable_interrupts(std::uint8_t, std::uint8_t) override { return {}; }
  void acknowledge_interrupt() override {}

  // 2.6.6: avail->idx, avail->flags and used_event after the ring.
  [[nodiscard]] std::uint16_t available_index() const { return load<std::uint16_t>(areas->available_ring + 2); }
  [[nodiscard]] std::uint16_t available_flags() const { return load<std::uint16_t>(areas->available_ring); }
  [[nodiscard]] std::uint16_t used_event() const {
    return load<std::uint16_t>(areas->available_ring + 4 + 2 * std::size_t{size});
  }
  // 2.6.8: avail_event after the used ring.
  void set_available_event(std::uint16_t index) {
    store<std::uint16_t>(areas->used_ring + 4 + 8 * std::size_t{size}, index);
  }
  [[nodiscard]] std::uint16_t used_index() const { return m_used; }

  [[nodiscard]] Buffer descriptor(std::uint16_t id) const {
    auto address = areas->descriptor_table + 16 * std::size_t{id};
    return {id, load<std::uint64_t>(address), load<std::uint32_t>(address + 8), load<std::uint16_t>(address + 12),
            load<std::uint16_t>(address + 14)};
  }

  // The head of every buffer made available since the last call (2.6.5).
  std::vector<Buffer> take_available() {
    std::vector<Buffer> buffers;
    for (auto end = available_index(); m_seen != end; ++m_seen)
      buffers.push_back(descriptor(load<std::uint16_t>(areas->available_ring + 4 + 2 * std::size_t(m_seen % size))));
    return buffers;
  }

  // The descriptors of the chain starting at `head` (VIRTQ_DESC_F_NEXT, 2.6.5).
  [[nodiscard]] std::vector<Buffer> chain(const Buffer& head) const {
    std::vector<Buffer> parts{head};
    while ((parts.back().flags & 1) && parts.size() <= size) parts.push_back(descriptor(parts.back().next));
    return parts;
  }

  // The bytes of a device-readable chain, in order.
  [[nodiscard]] std::vector<std::byte> read(const Buffer& head) const {
    std::vector<std::byte> bytes;
    for (const auto& part : chain(head)) {
      EXPECT_EQ(part.flags & 2, 0) << "a transmit descriptor is device-readable";
      auto* data = reinterpret_cast<const std::byte*>(part.address); // NOLINT(performance-no-int-to-ptr)
      bytes.insert(bytes.end(), data, data + part.length);
    }
    return bytes;
  }

  // Writes into a device-writable buffer, as the device would before using it.
  static void write(const Buffer& buffer, std::span<const std::byte> bytes) {
    EXPECT_NE(buffer.flags & 2, 0) << "a receive descriptor is device-writable";
    ASSERT_LE(bytes.size(), buffer.length);
    std::memcpy(reinterpret_cast<void*>(buffer.address), bytes.data(),
                bytes.size()); // NOLINT(performance-no-int-to-ptr)
  }

  // Returns a buffer: the used ring entry, then (unless held back) the index (2.6.8).
  void use(std::uint32_t id, std::uint32_t length, bool publish = true) {
    auto element = areas->used_ring + 4 + 8 * std::size_t(m_used % size);
    store<std::uint32_t>(element, id);
    store<std::uint32_t>(element + 4, length);
    ++m_used;
    if (publish) this->publish();
  }
  void publish() { store<std::uint16_t>(areas->used_ring + 2, m_used); }

  // 2.6.10: VIRTQ_USED_F_NO_NOTIFY.
  void set_no_notify(bool on) { store<std::uint16_t>(areas->used_ring, on ? 1 : 0); }

private:
  std::uint16_t m_seen = 0;
  std::uint16_t m_used = 0;
};

} // namespace morgana::pvh::virtio::test
