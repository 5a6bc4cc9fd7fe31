// Feeds the input to a live stack (10.0.0.2/24, gateway 10.0.0.1, a UDP echo
// socket on port 7) as a sequence of records, each
//   control (1 byte), length (2 bytes, big-endian), then up to `length` frame bytes:
//   control bits 0-2: how far to run the virtual clock afterwards
//                     (0, 1 ms, 100 ms, 1 s, 3 s, 10 s, 31 s, 65 s), so ARP,
//                     reassembly and rate-limit timers run between frames
//   bit 3: write our MAC as the destination (most frames then get past Ethernet)
//   bit 4: fix the IPv4 header checksum (and 0x0800 as EtherType), so fuzzed
//          headers reach reassembly, ICMP and UDP
//   bit 5: fix the ICMP checksum, or zero the UDP one, of an unfragmented datagram
//   bit 6: echo every datagram queued on the UDP socket back to its sender
//   bit 7: send a datagram from port 7 to 10.0.0.(length % 256) of (length % 3000)
//          bytes, or for lengths from 0xff00 of 65507 or 65508 (the largest, one too many)
// The stack must not crash, leak, or break its own invariants (checked by the
// sanitizers and the stack's internal MUSTs); frames it sends are discarded.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/checksum.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/packet.h"
#include "morgana/net/stack.h"
#include "sim.h"

using namespace morgana;
using namespace morgana::net;

namespace {

constexpr std::uint8_t our_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
constexpr Duration clock_steps[8] = {0ms, 1ms, 100ms, 1s, 3s, 10s, 31s, 65s};
constexpr std::size_t max_frame = 1600;

Task<void> run_for(Duration duration) { (void)co_await sleep_for(duration); }

void fix_ipv4_checksum(std::vector<std::byte>& frame) {
  if (frame.size() < 14 + 20) return;
  store_be16(frame.data() + 12, 0x0800);
  std::size_t header_length = (std::to_integer<std::size_t>(frame[14]) & 0x0f) * 4;
  if (header_length < 20 || frame.size() < 14 + header_length) return;
  store_be16(frame.data() + 14 + 10, 0);
  store_be16(frame.data() + 14 + 10, internet_checksum(Bytes(frame).subspan(14, header_length)));
}

void fix_transport_checksum(std::vector<std::byte>& frame) {
  if (frame.size() < 14 + 20 || load_be16(frame.data() + 12) != 0x0800) return;
  std::size_t header_length = (std::to_integer<std::size_t>(frame[14]) & 0x0f) * 4;
  std::size_t total_length = load_be16(frame.data() + 14 + 2);
  bool fragment = (load_be16(frame.data() + 14 + 6) & 0x3fff) != 0;
  if (header_length < 20 || total_length < header_length || 14 + total_length > frame.size() || fragment) return;
  auto protocol = std::to_integer<std::uint8_t>(frame[14 + 9]);
  auto* transport = frame.data() + 14 + header_length;
  std::size_t transport_length = total_length - header_length;
  if (protocol == ip_protocol::icmp && transport_length >= 4) {
    store_be16(transport + 2, 0);
    store_be16(transport + 2, internet_checksum(Bytes(transport, transport_length)));
  } else if (protocol == ip_protocol::udp && transport_length >= 8) {
    store_be16(transport + 6, 0);
  }
}

void echo_all(UdpSocket& socket) {
  while (true) {
    auto datagram = loop().run(socket.receive_from(MonotonicClock::now()));
    if (!datagram) return;
    (void)socket.send_to(datagram->source, datagram->payload.data());
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sim::reset();
  auto device = sim::add_device(our_mac, 1500);
  auto stack = MUST(Stack::create({.device = device}));
  stack->start();
  Ipv4Config config;
  config.address = {Ipv4Address::from_octets(10, 0, 0, 2), 24};
  config.gateway = Ipv4Address::from_octets(10, 0, 0, 1);
  stack->set_config(config);
  auto socket = MUST(stack->udp().bind(7));
  std::vector<std::byte> payload;

  ByteReader reader(Bytes(reinterpret_cast<const std::byte*>(data), size));
  while (reader.remaining() >= 3) {
    auto control = *reader.u8();
    auto length = *reader.u16();
    auto bytes = *reader.bytes(std::min<std::size_t>({length, reader.remaining(), max_frame}));
    std::vector<std::byte> frame(bytes.begin(), bytes.end());
    if ((control & 0x08) && frame.size() >= 6) std::memcpy(frame.data(), our_mac, 6);
    if (control & 0x10) fix_ipv4_checksum(frame);
    if (control & 0x20) fix_transport_checksum(frame);
    stack->receive_frame(MUST(PacketBuffer::copy_of(frame)));
    if (control & 0x40) echo_all(*socket);
    if (control & 0x80) {
      payload.assign(length >= 0xff00 ? 65507 + (length & 1) : length % 3000, std::byte{0x5a});
      (void)socket->send_to({Ipv4Address::from_octets(10, 0, 0, static_cast<std::uint8_t>(length)), 9}, payload);
    }
    auto step = clock_steps[control & 0x07];
    if (step > 0ms) loop().run(run_for(step));
    (void)sim::take_sent(device);
  }
  socket.reset();
  stack.reset();
  loop().destroy_spawned();
  return 0;
}
