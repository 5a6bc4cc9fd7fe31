#pragma once

// The virtio network device (virtio 1.1, 5.1) on any transport: one receive
// and one transmit queue. It negotiates what --offload allows of checksum
// offload both ways (CSUM, GUEST_CSUM), TCP segmentation both ways
// (HOST_TSO4, GUEST_TSO4), and, whenever offered, mergeable receive buffers
// and notification suppression (EVENT_IDX); each is optional, and without
// them frames are plain and MTU-sized. Every buffer is preallocated at start,
// one per descriptor, so frames move without allocation (virtio_net_queues.h).

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
#include "morgana/platform/pvh/virtio_net_queues.h"

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

  [[nodiscard]] NetOffloads offloads() const override { return virtio::offloads_of(m_features); }
  [[nodiscard]] Result<std::size_t> read(std::span<std::byte> frame, FrameOffload& offload) override;
  [[nodiscard]] Result<void> write(std::span<const std::byte> frame, const FrameOffload& offload) override;
  // Clears the interrupt status, rings the transmit doorbell (in case one was
  // lost), notifies the receive queue of refilled buffers and asks for an
  // interrupt at the next frame.
  [[nodiscard]] bool input_pending() override;

  void format(FormatSink& sink) const override;

private:
  VirtioNet(std::unique_ptr<virtio::Transport> transport, bool interrupts);
  friend struct morgana::NothrowNew;
  [[nodiscard]] Result<void> start(std::uint64_t features);

  std::unique_ptr<virtio::Transport> m_transport;
  bool m_interrupts;
  std::uint64_t m_features = 0; // negotiated
  MacAddress m_mac;
  std::uint16_t m_mtu = 1500;
  std::unique_ptr<virtio::NetReceiveQueue> m_receive_queue;
  std::unique_ptr<virtio::NetTransmitQueue> m_transmit_queue;
  std::size_t m_receive_buffer_size = 0;
  std::size_t m_transmit_buffer_size = 0;
};

} // namespace morgana::pvh
