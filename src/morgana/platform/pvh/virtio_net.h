#pragma once

// The virtio network device (virtio 1.1, 5.1) on any transport: one receive
// and one transmit queue, no offloads, no mergeable receive buffers. Every
// buffer is preallocated at start, one per descriptor and sized for the MTU,
// so frames move without allocation: the receive queue is refilled with the
// same buffer as soon as its frame is copied out, and transmit buffers come
// back as the device reports them used.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "morgana/core/format.h"
#include "morgana/core/mac_address.h"
#include "morgana/core/memory.h"
#include "morgana/core/result.h"
#include "morgana/platform/pvh/net_device.h"
#include "morgana/platform/pvh/virtio.h"
#include "morgana/platform/pvh/virtqueue.h"

namespace morgana::pvh {

class VirtioNet final : public NetDevice {
public:
  // Initialises the device (3.1.1, 5.1.5) with interrupts to `vector` on local
  // APIC `apic_id` when the transport can route them, else for polling.
  [[nodiscard]] static Result<std::unique_ptr<VirtioNet>> create(std::unique_ptr<virtio::Transport> transport,
                                                                 std::uint8_t vector, std::uint8_t apic_id);

  [[nodiscard]] MacAddress mac() const override { return m_mac; }
  // The device's MTU if it gives one (VIRTIO_NET_F_MTU), else 1500.
  [[nodiscard]] std::uint16_t mtu() const override { return m_mtu; }
  [[nodiscard]] bool interrupts() const override { return m_interrupts; }

  // No offloads yet: frames are plain.
  [[nodiscard]] NetOffloads offloads() const override { return {}; }
  [[nodiscard]] Result<std::size_t> read(std::span<std::byte> frame, FrameOffload& offload) override;
  [[nodiscard]] Result<void> write(std::span<const std::byte> frame, const FrameOffload& offload) override;
  // Clears the interrupt status and notifies the receive queue of refilled buffers.
  [[nodiscard]] bool input_pending() override;

  void format(FormatSink& sink) const override;

private:
  VirtioNet(std::unique_ptr<virtio::Transport> transport, bool interrupts);
  friend struct morgana::NothrowNew;
  [[nodiscard]] Result<void> start(std::uint64_t features);
  void refill(std::uint16_t id);

  std::unique_ptr<virtio::Transport> m_transport;
  bool m_interrupts;
  MacAddress m_mac;
  std::uint16_t m_mtu = 1500;
  std::size_t m_header_size = 0; // struct virtio_net_hdr: 12 bytes, 10 on legacy (5.1.6.1)
  std::size_t m_buffer_size = 0; // header and the largest frame
  std::unique_ptr<virtio::Virtqueue> m_receive_queue;
  std::unique_ptr<virtio::Virtqueue> m_transmit_queue;
  virtio::DmaMemory m_receive_buffers;
  virtio::DmaMemory m_transmit_buffers;
  std::unique_ptr<std::uint16_t[]> m_free_transmit; // IDs of transmit buffers we hold
  std::size_t m_free_transmit_count = 0;
  std::size_t m_refilled = 0; // receive buffers offered since the last notification
};

} // namespace morgana::pvh
