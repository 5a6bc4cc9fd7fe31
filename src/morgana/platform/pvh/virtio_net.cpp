#include "morgana/platform/pvh/virtio_net.h"

#include <algorithm>

#include "morgana/core/counter.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/core/random.h"
#include "morgana/platform/pvh/x86.h"

namespace morgana::pvh {
namespace {

log::Source virtio_net_log{"virtio-net"};
Counter transmit_doorbells_before_halt{"virtio_net.tx_doorbells_before_halt",
                                       "transmit doorbells rung before the CPU waits, in case one was lost"};

// 5.1.3: feature bits.
constexpr std::uint64_t virtio_net_f_mtu = std::uint64_t{1} << 3;
constexpr std::uint64_t virtio_net_f_mac = std::uint64_t{1} << 5;
// 5.1.4: struct virtio_net_config { u8 mac[6]; le16 status; le16 max_virtqueue_pairs; le16 mtu; }.
constexpr std::size_t config_mac = 0, config_mtu = 10;
// 5.1.2: receiveq1 and transmitq1.
constexpr std::uint16_t receiveq = 0, transmitq = 1;

constexpr std::uint16_t default_mtu = 1500, minimum_mtu = 68, maximum_mtu = 9000;
// An Ethernet header and one 802.1Q tag around the IP packet.
constexpr std::size_t link_overhead = 14 + 4;
constexpr std::uint16_t wanted_queue_size = 256;
// Buffers of a page when frames may reach 64 KiB (TSO, GRO): 17 descriptors
// per such frame, 1 MiB per queue of 256.
constexpr std::size_t large_frame_buffer_size = 4096;
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
  // (2.6.4), legacy ones only with VIRTIO_F_ANY_LAYOUT (2.6.4.3). Mergeable
  // buffers and EVENT_IDX change no frame: taken whenever offered.
  std::uint64_t wanted = virtio_net_f_mac | virtio_net_f_mtu | virtio::net_feature_mrg_rxbuf |
                         virtio::Virtqueue::feature_event_index |
                         virtio::wanted_offload_features(allowed_net_offloads(), offered);
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
  m_features = features;
  m_mac = (features & virtio_net_f_mac) ? read_mac(transport) : random_mac();
  if (features & virtio_net_f_mtu) m_mtu = transport.config_read16(config_mtu);
  else m_mtu = default_mtu;
  // 5.1.6.1: num_buffers is in the header on modern devices, on legacy ones only with MRG_RXBUF.
  bool mergeable = features & virtio::net_feature_mrg_rxbuf;
  auto header_size = (features & virtio::feature_version_1) || mergeable ? virtio::net_header_size
                                                                         : virtio::net_header_size_without_buffers;
  auto offloads = virtio::offloads_of(features);
  auto plain_frame_limit = link_overhead + m_mtu;
  auto plain_buffer_size = align_up(header_size + plain_frame_limit, 64);
  m_receive_buffer_size = offloads.gro4 ? std::max(plain_buffer_size, large_frame_buffer_size) : plain_buffer_size;
  m_transmit_buffer_size = offloads.tso4 ? std::max(plain_buffer_size, large_frame_buffer_size) : plain_buffer_size;
  bool event_index = features & virtio::Virtqueue::feature_event_index;

  m_receive_queue = TRY(virtio::NetReceiveQueue::create(
      transport, {receiveq, wanted_queue_size, event_index, header_size, m_receive_buffer_size, offloads}, mergeable));
  m_transmit_queue = TRY(virtio::NetTransmitQueue::create(
      transport, {transmitq, wanted_queue_size, event_index, header_size, m_transmit_buffer_size, offloads},
      plain_frame_limit));
  m_receive_queue->fill();
  virtio::set_driver_ok(transport);
  // 3.1.1: no notifications before DRIVER_OK.
  m_receive_queue->flush();
  virtio_net_log.info("{}: features {}", transport, virtio::NetFeatureNames{features});
  return {};
}

Result<std::size_t> VirtioNet::read(std::span<std::byte> frame, FrameOffload& offload) {
  // Frames the stack sent into a full ring go out as soon as buffers are back.
  m_transmit_queue->flush();
  return m_receive_queue->read(frame, offload);
}

Result<void> VirtioNet::write(std::span<const std::byte> frame, const FrameOffload& offload) {
  return m_transmit_queue->write(frame, offload);
}

bool VirtioNet::input_pending() {
  if (m_interrupts) m_transport->acknowledge_interrupt();
  // A doorbell the device missed leaves frames in the transmit ring for good:
  // with EVENT_IDX it asks again only after a kick. Under TCG with one vCPU,
  // QEMU before 8.1 drops the guest's barriers, so the test in
  // Virtqueue::notify can read a stale avail_event while QEMU's thread reads a
  // stale avail->idx, and neither side moves (docs/BENCHMARKS.md, "PVH: bulk
  // TCP"). An extra doorbell is always allowed and costs one exit; before the
  // CPU waits is where frames can otherwise sit until a timer fires.
  m_transport->notify(transmitq);
  transmit_doorbells_before_halt.increment();
  bool transmit = m_transmit_queue->ready(); // frames held back, and buffers back to send them
  return m_receive_queue->ready() || transmit;
}

void VirtioNet::format(FormatSink& sink) const {
  format_to(sink, "{}, MAC {}, MTU {}, {}+{} buffers of {}+{} bytes, {}, features {}", *m_transport, m_mac, m_mtu,
            m_receive_queue->size(), m_transmit_queue->size(), m_receive_buffer_size, m_transmit_buffer_size,
            m_interrupts ? "interrupts" : "polled", virtio::NetFeatureNames{m_features});
}

} // namespace morgana::pvh
