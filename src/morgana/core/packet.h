#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "morgana/core/bytes.h"
#include "morgana/core/net_offload.h"

namespace morgana {

// One packet in one heap buffer, with headroom before the data so each layer
// on the way out prepends its header without moving the payload, and on the
// way in strips its header by advancing the start.
class PacketBuffer {
public:
  // Room for the Ethernet, IPv4 and TCP/UDP headers with options.
  static constexpr std::size_t default_headroom = 128;

  PacketBuffer() = default;
  // A moved-from buffer is empty (the defaulted moves left its sizes over a null pointer).
  PacketBuffer(PacketBuffer&& other) noexcept
      : m_storage(std::move(other.m_storage)), m_capacity(std::exchange(other.m_capacity, 0)),
        m_start(std::exchange(other.m_start, 0)), m_length(std::exchange(other.m_length, 0)),
        m_offload(std::exchange(other.m_offload, {})) {}
  PacketBuffer& operator=(PacketBuffer&& other) noexcept {
    if (this != &other) {
      m_storage = std::move(other.m_storage);
      m_capacity = std::exchange(other.m_capacity, 0);
      m_start = std::exchange(other.m_start, 0);
      m_length = std::exchange(other.m_length, 0);
      m_offload = std::exchange(other.m_offload, {});
    }
    return *this;
  }

  // A buffer of `length` data bytes (uninitialised) after `headroom` spare bytes.
  // Fails with Errc::no_memory; callers on the packet path count and drop.
  [[nodiscard]] static Result<PacketBuffer> create(std::size_t length, std::size_t headroom = default_headroom);
  // A copy of `data` with headroom in front.
  [[nodiscard]] static Result<PacketBuffer> copy_of(Bytes data, std::size_t headroom = default_headroom);

  [[nodiscard]] MutableBytes data() { return {m_storage.get() + m_start, m_length}; }
  [[nodiscard]] Bytes data() const { return {m_storage.get() + m_start, m_length}; }
  [[nodiscard]] std::size_t size() const { return m_length; }
  [[nodiscard]] std::size_t headroom() const { return m_start; }
  [[nodiscard]] std::size_t tailroom() const { return m_capacity - m_start - m_length; }
  [[nodiscard]] bool empty() const { return m_length == 0; }

  // What the device is to do with, or said about, this packet. It travels with
  // the packet so a frame queued on the way (ARP resolution) keeps it.
  // checksum_start counts from the start of the data: prepend moves it with
  // the data, so a transport layer sets it to 0 and the device sees the offset
  // in the whole frame.
  [[nodiscard]] FrameOffload& offload() { return m_offload; }
  [[nodiscard]] const FrameOffload& offload() const { return m_offload; }

  // Grows the data at the front by `count` bytes and returns them for a header.
  [[nodiscard]] Result<MutableBytes> prepend(std::size_t count);
  // Grows the data at the back by `count` bytes and returns them.
  [[nodiscard]] Result<MutableBytes> append(std::size_t count);
  // Drops `count` bytes from the front (a parsed header).
  [[nodiscard]] Result<void> trim_front(std::size_t count);
  // Shortens the data to `length` bytes (drops link-layer padding).
  [[nodiscard]] Result<void> truncate(std::size_t length);

private:
  std::unique_ptr<std::byte[]> m_storage;
  std::size_t m_capacity = 0;
  std::size_t m_start = 0;
  std::size_t m_length = 0;
  FrameOffload m_offload;
};

} // namespace morgana
