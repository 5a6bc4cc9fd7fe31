#pragma once

#include <cstddef>
#include <memory>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"

namespace morgana {

// A fixed-capacity byte ring. Bytes [0, size()) from the read position are
// readable; callers may also place bytes further ahead (write_at) and make
// them readable later (commit), which TCP reassembly uses.
class RingBuffer {
public:
  RingBuffer() = default;
  RingBuffer(RingBuffer&&) noexcept = default;
  RingBuffer& operator=(RingBuffer&&) noexcept = default;

  // Allocates the storage; Errc::no_memory on failure.
  [[nodiscard]] Result<void> allocate(std::size_t capacity);
  [[nodiscard]] bool allocated() const { return m_storage != nullptr; }

  [[nodiscard]] std::size_t capacity() const { return m_capacity; }
  [[nodiscard]] std::size_t size() const { return m_size; }
  [[nodiscard]] std::size_t free() const { return m_capacity - m_size; }
  [[nodiscard]] bool empty() const { return m_size == 0; }

  // Appends as much of `data` as fits; returns how much.
  std::size_t write(Bytes data);
  // Places `data` at `offset` bytes past the read position without making it
  // readable; offset + data.size() must not exceed capacity().
  void write_at(std::size_t offset, Bytes data);
  // Makes `count` more bytes (placed by write_at) readable.
  void commit(std::size_t count);
  // Copies readable bytes starting `offset` past the read position.
  void copy_out(std::size_t offset, MutableBytes out) const;
  // Copies and removes up to out.size() bytes; returns how many.
  std::size_t read(MutableBytes out);
  // Removes `count` readable bytes.
  void consume(std::size_t count);

private:
  std::unique_ptr<std::byte[]> m_storage;
  std::size_t m_capacity = 0;
  std::size_t m_start = 0;
  std::size_t m_size = 0;
};

} // namespace morgana
