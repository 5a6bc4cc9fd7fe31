#include "morgana/core/packet.h"

#include <cstdint>

#include "morgana/core/memory.h"

namespace morgana {

Result<PacketBuffer> PacketBuffer::create(std::size_t length, std::size_t headroom) {
  PacketBuffer packet;
  if (length > SIZE_MAX - headroom) return fail(Errc::no_memory, "packet buffer size");
  packet.m_storage = TRY(try_make_unique<std::byte[]>("packet buffer", headroom + length));
  packet.m_capacity = headroom + length;
  packet.m_start = headroom;
  packet.m_length = length;
  return packet;
}

Result<PacketBuffer> PacketBuffer::copy_of(Bytes data, std::size_t headroom) {
  auto packet = TRY(create(data.size(), headroom));
  if (!data.empty()) std::memcpy(packet.data().data(), data.data(), data.size());
  return packet;
}

Result<MutableBytes> PacketBuffer::prepend(std::size_t count) {
  if (count > m_start) return fail(Errc::no_space, "packet headroom");
  m_start -= count;
  m_length += count;
  if (m_offload.checksum_partial)
    m_offload.checksum_start = static_cast<std::uint16_t>(m_offload.checksum_start + count);
  return data().first(count);
}

Result<MutableBytes> PacketBuffer::append(std::size_t count) {
  if (count > tailroom()) return fail(Errc::no_space, "packet tailroom");
  m_length += count;
  return data().last(count);
}

Result<void> PacketBuffer::trim_front(std::size_t count) {
  if (count > m_length) return fail(Errc::truncated, "packet");
  m_start += count;
  m_length -= count;
  return {};
}

Result<void> PacketBuffer::truncate(std::size_t length) {
  if (length > m_length) return fail(Errc::truncated, "packet");
  m_length = length;
  return {};
}

} // namespace morgana
