#include "morgana/platform/pvh/virtio_net.h"

#include <cstring>

#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/core/random.h"
#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh {
namespace {

log::Source virtio_net_log{"virtio-net"};

Counter receive_malformed{"virtio_net.rx_malformed",
                          "used receive buffers shorter than the header or longer than the buffer"};
Counter receive_too_long{"virtio_net.rx_too_long", "frames longer than the reader's buffer, dropped"};
Counter transmit_ring_full{"virtio_net.tx_ring_full", "frames not sent: every transmit buffer was with the device"};
Counter transmit_too_long{"virtio_net.tx_too_long", "frames not sent: longer than the MTU allows"};

// 5.1.3: feature bits.
constexpr std::uint64_t virtio_net_f_mtu = std::uint64_t{1} << 3;
constexpr std::uint64_t virtio_net_f_mac = std::uint64_t{1} << 5;
// 5.1.4: struct virtio_net_config { u8 mac[6]; le16 status; le16 max_virtqueue_pairs; le16 mtu; }.
constexpr std::size_t config_mac = 0, config_mtu = 10;
// 5.1.6: struct virtio_net_hdr, with num_buffers (modern) or without (legacy, 5.1.6.1).
constexpr std::size_t header_size_modern = 12, header_size_legacy = 10;
// 5.1.2: receiveq1 and transmitq1.
constexpr std::uint16_t receiveq = 0, transmitq = 1;

constexpr std::uint16_t default_mtu = 1500, minimum_mtu = 68, maximum_mtu = 9000;
// An Ethernet header and one 802.1Q tag around the IP packet.
constexpr std::size_t link_overhead = 14 + 4;
constexpr std::uint16_t wanted_queue_size = 256;
constexpr int config_read_attempts = 16;

constexpr std::size_t align_up(std::size_t value, std::size_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

// 2.4.1: reads the MAC until the configuration generation is stable around it.
MacAddress read_mac(virtio::Transport& transport) {
  MacAddress mac;
  for (int attempt = 0; attempt < config_read_attempts; ++attempt) {
    auto before = transport.config_generation();
    for (std::size_t i = 0; i < mac.octets.size(); ++i) mac.octets[i] = transport.config_read8(config_mac + i);
    if (transport.config_generation() == before) break;
  }
  return mac;
}

// 5.1.5: without VIRTIO_NET_F_MAC the driver picks a random, locally
// administered unicast address.
MacAddress random_mac() {
  MacAddress mac;
  if (!random::fill(std::as_writable_bytes(std::span(mac.octets)))) {
    auto tsc = x86::rdtsc();
    for (auto& octet : mac.octets) {
      octet = static_cast<std::uint8_t>(tsc);
      tsc = tsc * 6364136223846793005u + 1442695040888963407u;
    }
  }
  mac.octets[0] = static_cast<std::uint8_t>((mac.octets[0] | 0x02) & ~0x01);
  return mac;
}

} // namespace

VirtioNet::VirtioNet(std::unique_ptr<virtio::Transport> transport, bool interrupts)
    : m_transport(std::move(transport)), m_interrupts(interrupts) {}

Result<std::unique_ptr<VirtioNet>> VirtioNet::create(std::unique_ptr<virtio::Transport> transport, std::uint8_t vector,
                                                     std::uint8_t apic_id) {
  virtio::start_initialization(*transport);
  auto routed = transport->enable_interrupts(vector, apic_id);
  if (!routed) virtio_net_log.warn("{}: {}; polling instead", *transport, routed.error());

  auto offered = transport->device_features();
  // One descriptor carries header and frame: modern devices allow any layout
  // (2.6.4), legacy ones only with VIRTIO_F_ANY_LAYOUT (2.6.4.3).
  std::uint64_t wanted = virtio_net_f_mac | virtio_net_f_mtu;
  if (transport->legacy()) {
    if (!(offered & virtio::feature_any_layout))
      return virtio::fail_device(*transport, Error{Errc::unsupported, "legacy device without VIRTIO_F_ANY_LAYOUT"});
    wanted |= virtio::feature_any_layout;
  } else {
    if (!(offered & virtio::feature_version_1))
      return virtio::fail_device(*transport, Error{Errc::unsupported, "modern transport without VIRTIO_F_VERSION_1"});
    wanted |= virtio::feature_version_1;
  }
  // 3.1.1 step 4 lets the driver read the configuration before accepting:
  // take the device's MTU only when buffers for it stay reasonable.
  if (offered & virtio_net_f_mtu) {
    auto mtu = transport->config_read16(config_mtu);
    if (mtu < minimum_mtu || mtu > maximum_mtu) wanted &= ~virtio_net_f_mtu;
  }
  auto features = TRY(virtio::negotiate_features(*transport, wanted));

  auto device = TRY(try_make_unique<VirtioNet>("virtio-net", std::move(transport), routed.has_value()));
  if (auto started = device->start(features); !started)
    return virtio::fail_device(*device->m_transport, started.error());
  return device;
}

Result<void> VirtioNet::start(std::uint64_t features) {
  auto& transport = *m_transport;
  m_mac = (features & virtio_net_f_mac) ? read_mac(transport) : random_mac();
  if (features & virtio_net_f_mtu) m_mtu = transport.config_read16(config_mtu);
  else m_mtu = default_mtu;
  m_header_size = (features & virtio::feature_version_1) ? header_size_modern : header_size_legacy;
  m_buffer_size = align_up(m_header_size + link_overhead + m_mtu, 64);

  m_receive_queue = TRY(virtio::Virtqueue::create(transport, receiveq, wanted_queue_size));
  m_transmit_queue = TRY(virtio::Virtqueue::create(transport, transmitq, wanted_queue_size));
  m_receive_buffers = TRY(virtio::DmaMemory::allocate(m_receive_queue->size() * m_buffer_size, 4096));
  m_transmit_buffers = TRY(virtio::DmaMemory::allocate(m_transmit_queue->size() * m_buffer_size, 4096));
  m_free_transmit = TRY(try_make_unique<std::uint16_t[]>("virtio-net transmit list", m_transmit_queue->size()));

  // 5.1.6.3: the receive queue full of buffers; transmit buffers' headers stay
  // zero (no checksum offload, no GSO: 5.1.6.2).
  for (std::uint16_t id = 0; id < m_receive_queue->size(); ++id)
    m_receive_queue->make_available(id, m_receive_buffers.address(id * m_buffer_size),
                                    static_cast<std::uint32_t>(m_buffer_size), true);
  for (std::uint16_t id = 0; id < m_transmit_queue->size(); ++id) m_free_transmit[m_free_transmit_count++] = id;
  // Sent buffers are reclaimed when the next frame goes out; no interrupt needed.
  m_transmit_queue->suppress_interrupts();
  virtio::set_driver_ok(transport);
  // 3.1.1: no notifications before DRIVER_OK.
  m_receive_queue->notify();
  return {};
}

void VirtioNet::refill(std::uint16_t id) {
  m_receive_queue->make_available(id, m_receive_buffers.address(id * m_buffer_size),
                                  static_cast<std::uint32_t>(m_buffer_size), true);
  // Notify in batches, but before the device could run dry.
  if (++m_refilled >= m_receive_queue->size() / 2u) {
    m_receive_queue->notify();
    m_refilled = 0;
  }
}

Result<std::size_t> VirtioNet::read(std::span<std::byte> frame, FrameOffload& offload) {
  offload = {};
  while (auto used = m_receive_queue->take_used()) {
    // 5.1.6.4: the length covers the header and the frame.
    if (used->length < m_header_size || used->length > m_buffer_size) {
      receive_malformed.increment();
      refill(used->id);
      continue;
    }
    std::size_t length = used->length - m_header_size;
    if (length > frame.size()) {
      receive_too_long.increment();
      refill(used->id);
      return fail(Errc::no_space, "frame longer than the buffer");
    }
    std::memcpy(frame.data(), m_receive_buffers.data() + used->id * m_buffer_size + m_header_size, length);
    refill(used->id);
    return length;
  }
  if (m_refilled) {
    m_receive_queue->notify();
    m_refilled = 0;
  }
  return 0;
}

Result<void> VirtioNet::write(std::span<const std::byte> frame, const FrameOffload& /*offload*/) {
  while (auto used = m_transmit_queue->take_used()) m_free_transmit[m_free_transmit_count++] = used->id;
  if (frame.size() > m_buffer_size - m_header_size) {
    transmit_too_long.increment();
    return fail(Errc::no_space, "frame longer than the MTU");
  }
  if (m_free_transmit_count == 0) {
    transmit_ring_full.increment();
    return fail(Errc::would_block, "transmit queue full");
  }
  auto id = m_free_transmit[--m_free_transmit_count];
  std::memcpy(m_transmit_buffers.data() + id * m_buffer_size + m_header_size, frame.data(), frame.size());
  // 5.1.6.2: header then frame, one device-readable buffer.
  m_transmit_queue->make_available(id, m_transmit_buffers.address(id * m_buffer_size),
                                   static_cast<std::uint32_t>(m_header_size + frame.size()), false);
  m_transmit_queue->notify();
  return {};
}

bool VirtioNet::input_pending() {
  if (m_interrupts) m_transport->acknowledge_interrupt();
  if (m_refilled) {
    m_receive_queue->notify();
    m_refilled = 0;
  }
  return m_receive_queue->has_used();
}

void VirtioNet::format(FormatSink& sink) const {
  format_to(sink, "{}, MAC {}, MTU {}, {}+{} buffers of {} bytes, {}", *m_transport, m_mac, m_mtu,
            m_receive_queue->size(), m_transmit_queue->size(), m_buffer_size, m_interrupts ? "interrupts" : "polled");
}

} // namespace morgana::pvh
