#include "morgana/net/stack.h"

#include <cstring>

#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/core/memory.h"
#include "morgana/net/dhcp_client.h"
#include "morgana/net/ethernet.h"
#include "morgana/platform/interface.h"

namespace morgana::net {
namespace {

log::Source ethernet_log{"ethernet"};
log::Source net_log{"net"};

Counter frames_received{"ethernet.frames_received", "frames read from the device"};
Counter frames_sent{"ethernet.frames_sent", "frames written to the device"};
Counter malformed_frames{"ethernet.malformed", "frames too short for an Ethernet header, or 802.3 length frames"};
Counter oversized_frames{"ethernet.oversized", "frames longer than the MTU allows"};
Counter not_for_us{"ethernet.not_for_us", "frames for another MAC address or a multicast group"};
Counter unknown_type{"ethernet.unknown_type", "frames with an EtherType we do not handle"};
Counter receive_no_memory{"ethernet.no_memory", "frames not read for want of a buffer"};
Counter device_errors{"ethernet.device_errors", "device read or write errors"};
Counter checksum_offload_sent{"ethernet.checksum_offload_sent",
                              "frames written with their transport checksum left to the device"};
Counter tso_frames_sent{"ethernet.tso_frames_sent", "TCP frames written for the device to cut into segments (TSO)"};
Counter checksum_offloaded{"ethernet.checksum_offloaded",
                           "frames received whose transport checksum the device vouched for"};
Counter gso_frames_received{"ethernet.gso_frames_received", "TCP frames received coalesced from segments (GRO)"};

// Frames handled per turn of the event loop: more than a tap's queue holds
// (1,000), so one turn drains what is waiting (frames left in the queue while
// the image writes are what the host drops), yet a flood that never ends
// still lets other work run.
constexpr int frames_per_turn = 2048;

} // namespace

Result<std::unique_ptr<Stack>> Stack::create(StackConfig config) {
  if (config.device >= platform::net_device_count()) return fail(Errc::not_found, "no such network device (--net)");
  auto info = platform::net_device_info(config.device);
  auto stack = TRY(try_make_unique<Stack>("network stack", std::move(config), info));
  // One extra byte tells a frame that exactly fills the limit from a longer one.
  stack->m_receive_scratch_size = (info.offloads.gro4 ? max_offload_frame : stack->plain_frame_limit()) + 1;
  stack->m_receive_scratch = TRY(try_make_unique<std::byte[]>("receive buffer", stack->m_receive_scratch_size));
  return stack;
}

Task<Result<std::unique_ptr<Stack>>> Stack::open(StackConfig config, Instant deadline) {
  auto stack = CO_TRY(create(std::move(config)));
  stack->start();
  CO_TRY(co_await stack->configure(deadline));
  co_return stack;
}

Stack::Stack(StackConfig config, const platform::NetDeviceInfo& device)
    : m_stack_config(std::move(config)), m_mac(device.mac), m_mtu(device.mtu), m_offloads(device.offloads) {}

std::span<const Ipv4Address> Stack::dns_servers() const {
  if (!m_stack_config.dns_servers.empty()) return m_stack_config.dns_servers;
  return m_config.dns_servers;
}

Stack::~Stack() = default;

void Stack::start() {
  m_receive_task = receive_loop();
  m_receive_task.start();
  m_arp_timers = m_arp.run_timers();
  m_arp_timers.start();
  m_ipv4_timers = m_ipv4.run_timers();
  m_ipv4_timers.start();
}

Task<Result<void>> Stack::configure(Instant deadline) {
  if (!m_stack_config.ipv4) {
    if (!m_dhcp) m_dhcp = CO_TRY(try_make_unique<DhcpClient>("DHCP client", *this));
    CO_TRY(co_await m_dhcp->acquire(deadline));
    m_dhcp_task = m_dhcp->maintain();
    m_dhcp_task.start();
    co_return Result<void>{};
  }
  Ipv4Config config;
  config.address = *m_stack_config.ipv4;
  config.gateway = m_stack_config.gateway;
  set_config(std::move(config));
  co_return Result<void>{};
}

Result<std::unique_ptr<DatagramSocket>> Stack::udp_bind(std::uint16_t port) { return TRY(m_udp.bind(port)); }

Result<std::unique_ptr<Listener>> Stack::tcp_listen(std::uint16_t port, TcpListenOptions options) {
  return TRY(m_tcp.listen(port, options));
}

Task<Result<std::unique_ptr<Stream>>> Stack::tcp_connect(Endpoint remote, Instant deadline,
                                                         TcpConnectionOptions options) {
  co_return CO_TRY(co_await m_tcp.connect(remote, deadline, options));
}

void Stack::set_config(Ipv4Config config) {
  m_config = std::move(config);
  if (m_config.address.address.is_any()) {
    net_log.info("address removed");
    return;
  }
  if (m_config.gateway) net_log.info("address {} gateway {}", m_config.address, *m_config.gateway);
  else net_log.info("address {} (no gateway)", m_config.address);
  m_arp.announce();
}

Result<void> Stack::send_frame(MacAddress destination, std::uint16_t ether_type, PacketBuffer packet) {
  auto header = TRY(packet.prepend(EthernetHeader::size));
  ByteWriter writer(header);
  EthernetHeader{destination, m_mac, ether_type}.write(writer);
  TRY(writer.finish());
  Bytes frame = packet.data();
  std::byte padded[EthernetHeader::minimum_frame] = {};
  if (frame.size() < sizeof padded) {
    std::memcpy(padded, frame.data(), frame.size());
    frame = padded;
  }
  const auto& offload = packet.offload();
  if (auto written = platform::net_write(m_stack_config.device, frame, offload); !written) {
    device_errors.increment();
    return written;
  }
  frames_sent.increment();
  if (offload.checksum_partial) checksum_offload_sent.increment();
  if (offload.segment_size) tso_frames_sent.increment();
  return {};
}

void Stack::receive_frame(PacketBuffer frame) {
  frames_received.increment();
  ByteReader reader(frame.data());
  auto header = EthernetHeader::parse(reader);
  if (!header) {
    malformed_frames.increment();
    return;
  }
  if (header->destination != m_mac && !header->destination.is_broadcast()) {
    not_for_us.increment();
    return;
  }
  MUST(frame.trim_front(EthernetHeader::size));
  if (header->ether_type == ether_type::arp) {
    m_arp.receive(std::move(frame));
  } else if (header->ether_type == ether_type::ipv4) {
    m_ipv4.receive(std::move(frame));
  } else {
    unknown_type.increment();
    ethernet_log.trace("dropped EtherType {}", Hex{header->ether_type, 4});
  }
}

Task<void> Stack::receive_loop() {
  const std::span<std::byte> scratch(m_receive_scratch.get(), m_receive_scratch_size);
  while (true) {
    for (int handled = 0; handled < frames_per_turn; ++handled) {
      FrameOffload offload;
      auto length = platform::net_read(m_stack_config.device, scratch, offload);
      if (!length) {
        if (length.error() == Errc::no_space) oversized_frames.increment();
        else device_errors.increment();
        continue;
      }
      if (*length == 0) break;
      // Only a frame the device coalesced may be longer than the MTU allows.
      if (*length > (offload.segment_size ? scratch.size() - 1 : plain_frame_limit())) {
        oversized_frames.increment();
        continue;
      }
      auto frame = PacketBuffer::copy_of(scratch.first(*length));
      if (!frame) {
        receive_no_memory.increment();
        continue;
      }
      if (offload.checksum_valid || offload.checksum_partial) checksum_offloaded.increment();
      if (offload.segment_size) gso_frames_received.increment();
      frame->offload() = offload;
      receive_frame(std::move(*frame));
    }
    (void)co_await loop().device_activity().wait();
  }
}

} // namespace morgana::net
