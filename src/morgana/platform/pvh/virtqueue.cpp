#include "morgana/platform/pvh/virtqueue.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "morgana/core/counter.h"
#include "morgana/core/memory.h"
#include "morgana/platform/pvh/heap.h"

namespace morgana::pvh::virtio {
namespace {

Counter bad_used_ids{"virtio.bad_used_id", "used ring entries naming a descriptor outside the table"};

// 2.6.2: the legacy layout, which every transport accepts: the descriptor
// table, the available ring, then the used ring on the next page.
constexpr std::size_t queue_alignment = 4096;
// 2.6.5: struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; }.
constexpr std::size_t desc_size = 16, desc_addr = 0, desc_len = 8, desc_flags = 12;
constexpr std::uint16_t virtq_desc_f_write = 2;
// 2.6.6: struct virtq_avail { le16 flags; le16 idx; le16 ring[]; le16 used_event; }.
constexpr std::size_t avail_flags = 0, avail_idx = 2, avail_ring = 4;
constexpr std::uint16_t virtq_avail_f_no_interrupt = 1;
// 2.6.8: struct virtq_used { le16 flags; le16 idx; struct virtq_used_elem { le32 id; le32 len; } ring[]; ... }.
constexpr std::size_t used_flags = 0, used_idx = 2, used_ring = 4, used_elem_size = 8;
constexpr std::uint16_t virtq_used_f_no_notify = 1;

constexpr std::size_t align_up(std::size_t value, std::size_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

struct Layout {
  std::size_t available_offset, used_offset, total;
};

Layout layout_for(std::uint16_t size) {
  const std::size_t available_offset = desc_size * size;
  const std::size_t used_offset = align_up(available_offset + avail_ring + 2 * size + 2, queue_alignment);
  return {available_offset, used_offset,
          used_offset + align_up(used_ring + used_elem_size * size + 2, queue_alignment)};
}

// The largest power of two not above `limit` (at least 1).
std::uint16_t power_of_two_floor(std::uint16_t limit) {
  std::uint16_t size = 1;
  while (size <= limit / 2) size = static_cast<std::uint16_t>(size * 2);
  return size;
}

// The rings are memory this driver lays out and shares with the device: their
// fields are used in place, at the offsets above.
template <class T>
T& at(const DmaMemory& memory, std::size_t offset) {
  return *reinterpret_cast<T*>(memory.data() + offset);
}

} // namespace

DmaMemory::DmaMemory(DmaMemory&& other) noexcept : m_data(other.m_data), m_size(other.m_size) {
  other.m_data = nullptr;
  other.m_size = 0;
}

DmaMemory& DmaMemory::operator=(DmaMemory&& other) noexcept {
  if (this != &other) {
    heap().free(m_data);
    m_data = other.m_data;
    m_size = other.m_size;
    other.m_data = nullptr;
    other.m_size = 0;
  }
  return *this;
}

DmaMemory::~DmaMemory() { heap().free(m_data); }

Result<DmaMemory> DmaMemory::allocate(std::size_t size, std::size_t alignment) {
  auto* data = static_cast<std::byte*>(heap().allocate(size, alignment));
  if (!data) return fail(Errc::no_memory, "device memory");
  std::memset(data, 0, size);
  DmaMemory memory;
  memory.m_data = data;
  memory.m_size = size;
  return memory;
}

Result<std::unique_ptr<Virtqueue>> Virtqueue::create(Transport& transport, std::uint16_t index,
                                                     std::uint16_t wanted_size) {
  auto max_size = transport.queue_max_size(index);
  if (max_size == 0) return fail(Errc::not_found, "virtqueue missing");
  std::uint16_t size = transport.queue_size_fixed() ? max_size : power_of_two_floor(std::min(max_size, wanted_size));
  if (size & (size - 1)) return fail(Errc::unsupported, "virtqueue size not a power of two");

  auto layout = layout_for(size);
  auto memory = TRY(DmaMemory::allocate(layout.total, queue_alignment));
  QueueAreas areas{memory.address(), memory.address(layout.available_offset), memory.address(layout.used_offset)};
  auto queue = TRY(try_make_unique<Virtqueue>("virtqueue", transport, index, size, std::move(memory)));
  TRY(transport.activate_queue(index, size, areas));
  return queue;
}

Virtqueue::Virtqueue(Transport& transport, std::uint16_t index, std::uint16_t size, DmaMemory memory)
    : m_transport(transport), m_index(index), m_size(size), m_memory(std::move(memory)),
      m_available_offset(layout_for(size).available_offset), m_used_offset(layout_for(size).used_offset) {}

void Virtqueue::make_available(std::uint16_t id, std::uint64_t address, std::uint32_t length, bool device_writable) {
  auto descriptor = std::size_t{id} * desc_size;
  at<std::uint64_t>(m_memory, descriptor + desc_addr) = address;
  at<std::uint32_t>(m_memory, descriptor + desc_len) = length;
  at<std::uint16_t>(m_memory, descriptor + desc_flags) = device_writable ? virtq_desc_f_write : 0;
  auto slot = m_available_offset + avail_ring + 2 * std::size_t(m_next_available % m_size);
  at<std::uint16_t>(m_memory, slot) = id;
  ++m_next_available;
  // 2.6.13.3: the descriptor and ring entry are visible before the index that publishes them.
  std::atomic_ref(at<std::uint16_t>(m_memory, m_available_offset + avail_idx))
      .store(m_next_available, std::memory_order_release);
}

void Virtqueue::notify() {
  if (m_notified == m_next_available) return;
  m_notified = m_next_available;
  // 2.6.13.4: the index store completes before the device's flags are read.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  auto flags = std::atomic_ref(at<std::uint16_t>(m_memory, m_used_offset + used_flags)).load(std::memory_order_relaxed);
  if (!(flags & virtq_used_f_no_notify)) m_transport.notify(m_index);
}

bool Virtqueue::has_used() const {
  return std::atomic_ref(at<std::uint16_t>(m_memory, m_used_offset + used_idx)).load(std::memory_order_acquire) !=
         m_last_used;
}

std::optional<Virtqueue::Used> Virtqueue::take_used() {
  // 2.6.14: read the index, then (ordered by acquire) the entries below it.
  auto device_index =
      std::atomic_ref(at<std::uint16_t>(m_memory, m_used_offset + used_idx)).load(std::memory_order_acquire);
  while (device_index != m_last_used) {
    auto element = m_used_offset + used_ring + used_elem_size * std::size_t(m_last_used % m_size);
    ++m_last_used;
    auto id = at<std::uint32_t>(m_memory, element);
    auto length = at<std::uint32_t>(m_memory, element + 4);
    if (id < m_size) return Used{static_cast<std::uint16_t>(id), length};
    bad_used_ids.increment();
  }
  return std::nullopt;
}

void Virtqueue::suppress_interrupts() {
  std::atomic_ref(at<std::uint16_t>(m_memory, m_available_offset + avail_flags))
      .store(virtq_avail_f_no_interrupt, std::memory_order_relaxed);
}

} // namespace morgana::pvh::virtio
