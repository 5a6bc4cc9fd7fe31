#pragma once

// Split virtqueues (virtio 1.1, 2.6), driver side: a descriptor table, the
// available ring the driver fills and the used ring the device returns
// buffers in. A buffer is one descriptor or a chain of them (no indirect
// descriptors); the caller owns the buffers and maps descriptor IDs to them.
// With VIRTIO_F_EVENT_IDX (2.6.7.2, 2.6.10.1) the driver and device tell each
// other the ring index at which they next want a notification, so a burst of
// buffers costs one doorbell and one interrupt. One core, no preemption: the
// only concurrency is with the device, ordered by the barriers of 2.6.13,
// 2.6.14 and 2.6.7.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "morgana/core/memory.h"
#include "morgana/core/result.h"
#include "morgana/platform/pvh/virtio.h"

namespace morgana::pvh::virtio {

// Zeroed memory a device reaches by physical address: the heap is identity
// mapped, so its pointers are physical addresses. Cached: virtual devices
// are coherent (a real one would need uncached or flushed pages).
class DmaMemory {
public:
  DmaMemory() = default;
  DmaMemory(DmaMemory&& other) noexcept;
  DmaMemory& operator=(DmaMemory&& other) noexcept;
  ~DmaMemory();

  [[nodiscard]] static Result<DmaMemory> allocate(std::size_t size, std::size_t alignment);
  [[nodiscard]] std::byte* data() const { return m_data; }
  [[nodiscard]] std::uint64_t address(std::size_t offset = 0) const {
    return reinterpret_cast<std::uintptr_t>(m_data) + offset;
  }
  [[nodiscard]] std::size_t size() const { return m_size; }
  // Gives the memory up without freeing it: for pages another domain may
  // still write (a grant it did not let go of).
  void abandon() {
    m_data = nullptr;
    m_size = 0;
  }

private:
  std::byte* m_data = nullptr;
  std::size_t m_size = 0;
};

class Virtqueue {
public:
  struct Used {
    std::uint16_t id;
    std::uint32_t length; // bytes the device wrote into the buffer
  };

  // One descriptor of a buffer (2.6.5).
  struct Part {
    std::uint16_t id;
    std::uint64_t address;
    std::uint32_t length;
    bool device_writable;
  };

  // 6: VIRTIO_F_EVENT_IDX (VIRTIO_RING_F_EVENT_IDX), the same bit on every transport.
  static constexpr std::uint64_t feature_event_index = std::uint64_t{1} << 29;

  // Sets up queue `index` of the device with `wanted_size` entries or fewer
  // (a power of two; legacy PCI dictates its own size) and activates it.
  // `event_index`: VIRTIO_F_EVENT_IDX was negotiated.
  [[nodiscard]] static Result<std::unique_ptr<Virtqueue>> create(Transport& transport, std::uint16_t index,
                                                                 std::uint16_t wanted_size, bool event_index = false);

  [[nodiscard]] std::uint16_t index() const { return m_index; }
  [[nodiscard]] std::uint16_t size() const { return m_size; }

  // Points descriptor `id` at one buffer and offers it to the device (2.6.13),
  // without notifying it.
  void make_available(std::uint16_t id, std::uint64_t address, std::uint32_t length, bool device_writable);
  // Links the descriptors of `chain` (VIRTQ_DESC_F_NEXT, in order) into one
  // buffer and offers it; the device returns it under chain[0].id. Device-
  // writable parts must follow the readable ones (2.6.4.2). Not empty.
  void make_available(std::span<const Part> chain);
  // Notifies the device of buffers offered since the last notification,
  // unless it asked not to be: VIRTQ_USED_F_NO_NOTIFY (2.6.10), or with
  // EVENT_IDX only when avail_event lies among the indices offered since (2.6.10.1).
  void notify();

  [[nodiscard]] bool has_used() const;
  // Used buffers the device has returned and take_used() not yet (including
  // any with a bad ID).
  [[nodiscard]] std::uint16_t used_pending() const;
  // The next buffer the device has used (2.6.14); nullopt when there is none or
  // the device returned an ID outside the table (counted).
  [[nodiscard]] std::optional<Used> take_used();

  // Asks the device not to interrupt when it uses buffers (2.6.7); a hint.
  void suppress_interrupts();
  // Asks for an interrupt when the device next uses a buffer (with EVENT_IDX:
  // used_event is the next used index, 2.6.7.2), then returns whether a used
  // buffer already waits: one the device returned before it could see the
  // request raises no interrupt, so the caller must not wait for one.
  [[nodiscard]] bool request_interrupt();

private:
  Virtqueue(Transport& transport, std::uint16_t index, std::uint16_t size, DmaMemory memory, bool event_index);
  friend struct morgana::NothrowNew;
  void write_descriptor(const Part& part, std::uint16_t flags, std::uint16_t next);
  // used_event (at the end of the available ring) and avail_event (at the end
  // of the used ring), 2.6.6 and 2.6.8.
  [[nodiscard]] std::uint16_t& used_event();
  [[nodiscard]] std::uint16_t& available_event();

  Transport& m_transport;
  std::uint16_t m_index;
  std::uint16_t m_size;
  DmaMemory m_memory;
  std::size_t m_available_offset;
  std::size_t m_used_offset;
  std::uint16_t m_next_available = 0; // our copy of avail->idx
  std::uint16_t m_notified = 0;       // avail->idx at the last notification
  std::uint16_t m_last_used = 0;      // the used->idx we have consumed up to
  bool m_event_index;
  bool m_interrupts_suppressed = false;
};

} // namespace morgana::pvh::virtio
