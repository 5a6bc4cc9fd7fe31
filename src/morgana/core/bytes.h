#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "morgana/core/result.h"

namespace morgana {

using Bytes = std::span<const std::byte>;
using MutableBytes = std::span<std::byte>;

inline Bytes as_bytes(std::string_view text) { return {reinterpret_cast<const std::byte*>(text.data()), text.size()}; }
inline std::string_view as_string(Bytes bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }

inline std::uint16_t load_be16(const std::byte* p) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}
inline std::uint32_t load_be32(const std::byte* p) { return (std::uint32_t{load_be16(p)} << 16) | load_be16(p + 2); }
inline void store_be16(std::byte* p, std::uint16_t v) {
  p[0] = std::byte(v >> 8);
  p[1] = std::byte(v & 0xff);
}
inline void store_be32(std::byte* p, std::uint32_t v) {
  store_be16(p, static_cast<std::uint16_t>(v >> 16));
  store_be16(p + 2, static_cast<std::uint16_t>(v & 0xffff));
}

// Bounds-checked big-endian reads over outside bytes. Every read either
// returns the value and advances, or fails with Errc::truncated and leaves
// the position unchanged.
class ByteReader {
public:
  constexpr explicit ByteReader(Bytes data) : m_data(data) {}

  [[nodiscard]] std::size_t position() const { return m_position; }
  [[nodiscard]] std::size_t remaining() const { return m_data.size() - m_position; }
  [[nodiscard]] bool at_end() const { return remaining() == 0; }
  [[nodiscard]] Bytes rest() const { return m_data.subspan(m_position); }
  [[nodiscard]] Bytes whole() const { return m_data; }

  [[nodiscard]] Result<std::uint8_t> u8() {
    if (remaining() < 1) return fail(Errc::truncated);
    return std::to_integer<std::uint8_t>(m_data[m_position++]);
  }
  [[nodiscard]] Result<std::uint16_t> u16() {
    if (remaining() < 2) return fail(Errc::truncated);
    auto v = load_be16(m_data.data() + m_position);
    m_position += 2;
    return v;
  }
  [[nodiscard]] Result<std::uint32_t> u32() {
    if (remaining() < 4) return fail(Errc::truncated);
    auto v = load_be32(m_data.data() + m_position);
    m_position += 4;
    return v;
  }
  [[nodiscard]] Result<Bytes> bytes(std::size_t count) {
    if (remaining() < count) return fail(Errc::truncated);
    auto span = m_data.subspan(m_position, count);
    m_position += count;
    return span;
  }
  // A reader over the next `count` bytes, which this reader skips.
  [[nodiscard]] Result<ByteReader> sub(std::size_t count) { return ByteReader(TRY(bytes(count))); }
  [[nodiscard]] Result<void> skip(std::size_t count) {
    if (remaining() < count) return fail(Errc::truncated);
    m_position += count;
    return {};
  }
  // Moves to an absolute offset within the data (for DNS compression pointers).
  [[nodiscard]] Result<void> seek(std::size_t offset) {
    if (offset > m_data.size()) return fail(Errc::truncated);
    m_position = offset;
    return {};
  }

private:
  Bytes m_data;
  std::size_t m_position = 0;
};

// Big-endian writes into a fixed buffer. Overflow is sticky: writes past the end
// are ignored and finish() reports Errc::no_space, so a serializer checks once.
class ByteWriter {
public:
  constexpr explicit ByteWriter(MutableBytes buffer) : m_buffer(buffer) {}

  void u8(std::uint8_t v) {
    if (auto* p = reserve(1)) *p = std::byte(v);
  }
  void u16(std::uint16_t v) {
    if (auto* p = reserve(2)) store_be16(p, v);
  }
  void u32(std::uint32_t v) {
    if (auto* p = reserve(4)) store_be32(p, v);
  }
  void bytes(Bytes data) {
    if (auto* p = reserve(data.size()); p && !data.empty()) std::memcpy(p, data.data(), data.size());
  }
  void zeros(std::size_t count) {
    if (auto* p = reserve(count); p && count) std::memset(p, 0, count);
  }
  // Reserves `count` bytes to fill in later (a checksum, a length); null on overflow.
  std::byte* reserve(std::size_t count) {
    if (m_overflow || m_buffer.size() - m_position < count) {
      m_overflow = true;
      return nullptr;
    }
    auto* p = m_buffer.data() + m_position;
    m_position += count;
    return p;
  }

  [[nodiscard]] std::size_t position() const { return m_position; }
  [[nodiscard]] bool overflowed() const { return m_overflow; }
  [[nodiscard]] MutableBytes written() const { return m_buffer.first(m_position); }
  // The bytes written, or Errc::no_space if any write did not fit.
  [[nodiscard]] Result<MutableBytes> finish() const {
    if (m_overflow) return fail(Errc::no_space);
    return written();
  }

private:
  MutableBytes m_buffer;
  std::size_t m_position = 0;
  bool m_overflow = false;
};

} // namespace morgana
