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
Counter notifications_sent{"virtio.notifications", "available buffer notifications (doorbells) sent to devices"};
Counter notifications_suppressed{"virtio.notifications_suppressed",
                                 "new buffers offered without a doorbell: the device asked not to be notified "
                                 "(VIRTQ_USED_F_NO_NOTIFY, or EVENT_IDX's avail_event not reached)"};

// 2.6.2: the legacy layout, which every transport accepts: the descriptor
// table, the available ring, then the used ring on the next page.
constexpr std::size_t queue_alignment = 4096;
// 2.6.5: struct virtq_desc { le64 addr; le32 len; le16 flags; le16 next; }.
constexpr std::size_t desc_size = 16, desc_addr = 0, desc_len = 8, desc_flags = 12, desc_next = 14;
constexpr std::uint16_t virtq_desc_f_next = 1, virtq_desc_f_write = 2;
// 2.6.6: struct virtq_avail { le16 flags; le16 idx; le16 ring[]; le16 used_event; }.
constexpr std::size_t avail_flags = 0, avail_idx = 2, avail_ring = 4;
constexpr std::uint16_t virtq_avail_f_no_interrupt = 1;
// 2.6.8: struct virtq_used { le16 flags; le16 idx; struct virtq_used_elem { le32 id; le32 len; } ring[];
// le16 avail_event; }.
constexpr std::size_t used_flags = 0, used_idx = 2, used_ring = 4, used_elem_size = 8;
constexpr std::uint16_t virtq_used_f_no_notify = 1;

// 2.6.10.1 (vring_need_event): whether the other side asked to be notified at
// `event`, one of the indices in [old, new) published since it was last told.
// Unsigned 16-bit differences, so it holds across the wrap.
bool event_crossed(std::uint16_t event, std::uint16_t new_index, std::uint16_t old_index) {
  return static_cast<std::uint16_t>(new_index - event - 1) < static_cast<std::uint16_t>(new_index - old_index);
}

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
                                                     std::uint16_t wanted_size, bool event_index) {
  auto max_size = transport.queue_max_size(index);
  if (max_size == 0) return fail(Errc::not_found, "virtqueue missing");
  std::uint16_t size = transport.queue_size_fixed() ? max_size : power_of_two_floor(std::min(max_size, wanted_size));
  if (size & (size - 1)) return fail(Errc::unsupported, "virtqueue size not a power of two");

  auto layout = layout_for(size);
  auto memory = TRY(DmaMemory::allocate(layout.total, queue_alignment));
  QueueAreas areas{memory.address(), memory.address(layout.available_offset), memory.address(layout.used_offset)};
  auto queue = TRY(try_make_unique<Virtqueue>("virtqueue", transport, index, size, std::move(memory), event_index));
  TRY(transport.activate_queue(index, size, areas));
  return queue;
}

Virtqueue::Virtqueue(Transport& transport, std::uint16_t index, std::uint16_t size, DmaMemory memory, bool event_index)
    : m_transport(transport), m_index(index), m_size(size), m_memory(std::move(memory)),
      m_available_offset(layout_for(size).available_offset), m_used_offset(layout_for(size).used_offset),
      m_event_index(event_index) {}

std::uint16_t& Virtqueue::used_event() {
  return at<std::uint16_t>(m_memory, m_available_offset + avail_ring + 2 * std::size_t{m_size});
}

std::uint16_t& Virtqueue::available_event() {
  return at<std::uint16_t>(m_memory, m_used_offset + used_ring + used_elem_size * std::size_t{m_size});
}

void Virtqueue::write_descriptor(const Part& part, std::uint16_t flags, std::uint16_t next) {
  auto descriptor = std::size_t{part.id} * desc_size;
  at<std::uint64_t>(m_memory, descriptor + desc_addr) = part.address;
  at<std::uint32_t>(m_memory, descriptor + desc_len) = part.length;
  at<std::uint16_t>(m_memory, descriptor + desc_flags) =
      static_cast<std::uint16_t>(flags | (part.device_writable ? virtq_desc_f_write : 0));
  at<std::uint16_t>(m_memory, descriptor + desc_next) = next;
}

void Virtqueue::make_available(std::uint16_t id, std::uint64_t address, std::uint32_t length, bool device_writable) {
  const Part part{id, address, length, device_writable};
  make_available(std::span(&part, 1));
}

void Virtqueue::make_available(std::span<const Part> chain) {
  for (std::size_t i = 0; i + 1 < chain.size(); ++i) write_descriptor(chain[i], virtq_desc_f_next, chain[i + 1].id);
  write_descriptor(chain.back(), 0, 0);
  auto slot = m_available_offset + avail_ring + 2 * std::size_t(m_next_available % m_size);
  at<std::uint16_t>(m_memory, slot) = chain.front().id;
  ++m_next_available;
  // 2.6.13.3: the descriptor and ring entry are visible before the index that publishes them.
  std::atomic_ref(at<std::uint16_t>(m_memory, m_available_offset + avail_idx))
      .store(m_next_available, std::memory_order_release);
}

void Virtqueue::notify() {
  if (m_notified == m_next_available) return;
  auto old_index = m_notified;
  m_notified = m_next_available;
  // 2.6.13.4: the index store completes before the device's flags or
  // avail_event are read; else the device could miss the new buffers while
  // we read a stale request not to notify it.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool wanted;
  if (m_event_index) {
    auto event = std::atomic_ref(available_event()).load(std::memory_order_relaxed);
    wanted = event_crossed(event, m_next_available, old_index);
  } else {
    auto flags =
        std::atomic_ref(at<std::uint16_t>(m_memory, m_used_offset + used_flags)).load(std::memory_order_relaxed);
    wanted = !(flags & virtq_used_f_no_notify);
  }
  if (wanted) {
    notifications_sent.increment();
    m_transport.notify(m_index);
  } else {
    notifications_suppressed.increment();
  }
}

bool Virtqueue::has_used() const { return used_pending() != 0; }

std::uint16_t Virtqueue::used_pending() const {
  auto device_index =
      std::atomic_ref(at<std::uint16_t>(m_memory, m_used_offset + used_idx)).load(std::memory_order_acquire);
  return static_cast<std::uint16_t>(device_index - m_last_used);
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
    // Keeps used_event behind what we consumed, so the device's index never
    // reaches it (once every 65536 buffers if it stood still).
    if (m_event_index && m_interrupts_suppressed)
      std::atomic_ref(used_event()).store(static_cast<std::uint16_t>(m_last_used - 1), std::memory_order_relaxed);
    if (id < m_size) return Used{static_cast<std::uint16_t>(id), length};
    bad_used_ids.increment();
  }
  return std::nullopt;
}

void Virtqueue::suppress_interrupts() {
  m_interrupts_suppressed = true;
  // 2.6.7.2: with EVENT_IDX the flags stay 0 and used_event, one behind the
  // used index, is what the device's index would have to reach.
  if (m_event_index)
    std::atomic_ref(used_event()).store(static_cast<std::uint16_t>(m_last_used - 1), std::memory_order_relaxed);
  else
    std::atomic_ref(at<std::uint16_t>(m_memory, m_available_offset + avail_flags))
        .store(virtq_avail_f_no_interrupt, std::memory_order_relaxed);
}

bool Virtqueue::request_interrupt() {
  m_interrupts_suppressed = false;
  if (m_event_index) std::atomic_ref(used_event()).store(m_last_used, std::memory_order_relaxed);
  else
    std::atomic_ref(at<std::uint16_t>(m_memory, m_available_offset + avail_flags)).store(0, std::memory_order_relaxed);
  // The request is visible before the used index is read again: a buffer the
  // device used in between is either seen here or raises the interrupt.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return has_used();
}

} // namespace morgana::pvh::virtio
