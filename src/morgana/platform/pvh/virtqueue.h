#pragma once

// Split virtqueues (virtio 1.1, 2.6), driver side: a descriptor table, the
// available ring the driver fills and the used ring the device returns
// buffers in. Each buffer here is one descriptor (no chains, no indirect
// descriptors); the caller owns the buffers and maps descriptor IDs to them.
// One core, no preemption: the only concurrency is with the device, ordered
// by the barriers of 2.6.13 and 2.6.14.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

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

  // Sets up queue `index` of the device with `wanted_size` entries or fewer
  // (a power of two; legacy PCI dictates its own size) and activates it.
  [[nodiscard]] static Result<std::unique_ptr<Virtqueue>> create(Transport& transport, std::uint16_t index,
                                                                 std::uint16_t wanted_size);

  [[nodiscard]] std::uint16_t index() const { return m_index; }
  [[nodiscard]] std::uint16_t size() const { return m_size; }

  // Points descriptor `id` at one buffer and offers it to the device (2.6.13),
  // without notifying it.
  void make_available(std::uint16_t id, std::uint64_t address, std::uint32_t length, bool device_writable);
  // Notifies the device of buffers offered since the last notification,
  // unless it asked not to be (2.6.10).
  void notify();

  [[nodiscard]] bool has_used() const;
  // The next buffer the device has used (2.6.14); nullopt when there is none or
  // the device returned an ID outside the table (counted).
  [[nodiscard]] std::optional<Used> take_used();

  // Asks the device not to interrupt when it uses buffers (2.6.7); a hint.
  void suppress_interrupts();

private:
  Virtqueue(Transport& transport, std::uint16_t index, std::uint16_t size, DmaMemory memory);
  friend struct morgana::NothrowNew;

  Transport& m_transport;
  std::uint16_t m_index;
  std::uint16_t m_size;
  DmaMemory m_memory;
  std::size_t m_available_offset;
  std::size_t m_used_offset;
  std::uint16_t m_next_available = 0; // our copy of avail->idx
  std::uint16_t m_notified = 0;       // avail->idx at the last notification
  std::uint16_t m_last_used = 0;      // the used->idx we have consumed up to
};

} // namespace morgana::pvh::virtio
