#include "morgana/core/ring_buffer.h"

#include <algorithm>
#include <cstring>

#include "morgana/core/memory.h"

namespace morgana {

Result<void> RingBuffer::allocate(std::size_t capacity) {
  m_storage = TRY(try_make_unique<std::byte[]>("ring buffer", capacity));
  m_capacity = capacity;
  m_start = m_size = 0;
  return {};
}

std::size_t RingBuffer::write(Bytes data) {
  auto count = std::min(data.size(), free());
  write_at(m_size, data.first(count));
  m_size += count;
  return count;
}

void RingBuffer::write_at(std::size_t offset, Bytes data) {
  if (data.empty()) return;
  auto position = (m_start + offset) % m_capacity;
  auto first = std::min(data.size(), m_capacity - position);
  if (first) std::memcpy(m_storage.get() + position, data.data(), first);
  if (data.size() > first) std::memcpy(m_storage.get(), data.data() + first, data.size() - first);
}

void RingBuffer::commit(std::size_t count) { m_size = std::min(m_capacity, m_size + count); }

void RingBuffer::copy_out(std::size_t offset, MutableBytes out) const {
  if (out.empty()) return;
  auto position = (m_start + offset) % m_capacity;
  auto first = std::min(out.size(), m_capacity - position);
  if (first) std::memcpy(out.data(), m_storage.get() + position, first);
  if (out.size() > first) std::memcpy(out.data() + first, m_storage.get(), out.size() - first);
}

std::size_t RingBuffer::read(MutableBytes out) {
  auto count = std::min(out.size(), m_size);
  copy_out(0, out.first(count));
  consume(count);
  return count;
}

void RingBuffer::consume(std::size_t count) {
  count = std::min(count, m_size);
  m_start = m_capacity ? (m_start + count) % m_capacity : 0;
  m_size -= count;
}

} // namespace morgana
