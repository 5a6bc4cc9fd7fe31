#pragma once

// Test helpers for the network layers, the one place tests build frames:
// frames built byte by byte (independently of the serializers under test,
// with a reference RFC 1071 checksum), decoding of the frames a stack sent,
// and a simulated device with a started stack.

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "counters.h"
#include "morgana/core/bytes.h"
#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/task.h"
#include "morgana/net/arp.h"
#include "morgana/net/ethernet.h"
#include "morgana/net/icmp.h"
#include "morgana/net/ipv4_header.h"
#include "morgana/net/stack.h"
#include "morgana/net/tcp_header.h"
#include "morgana/net/udp.h"
#include "morgana/platform/interface.h"
#include "sim.h"

namespace morgana::net::frames {

using Frame = std::vector<std::byte>;

inline constexpr std::uint8_t our_mac_octets[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
inline constexpr MacAddress our_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
inline constexpr MacAddress peer_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
inline constexpr MacAddress gateway_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0xfe}};
inline constexpr MacAddress other_mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x33}};
inline constexpr auto our_address = Ipv4Address::from_octets(10, 0, 0, 2);
inline constexpr auto peer_address = Ipv4Address::from_octets(10, 0, 0, 1);
inline constexpr auto other_address = Ipv4Address::from_octets(10, 0, 0, 3);
inline constexpr auto gateway_address = Ipv4Address::from_octets(10, 0, 0, 254);
inline constexpr auto remote_address = Ipv4Address::from_octets(192, 0, 2, 7);
inline constexpr auto directed_broadcast = Ipv4Address::from_octets(10, 0, 0, 255);
inline constexpr Ipv4Cidr our_cidr{our_address, 24};

// RFC 1071 computed the slow, obvious way: 32-bit sum of big-endian words
// (a trailing odd byte padded on the right), folded, complemented.
inline std::uint16_t reference_checksum(Bytes data, std::uint32_t initial_sum = 0) {
  std::uint32_t sum = initial_sum;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    std::uint32_t high = std::to_integer<std::uint32_t>(data[i]);
    std::uint32_t low = i + 1 < data.size() ? std::to_integer<std::uint32_t>(data[i + 1]) : 0;
    sum += (high << 8) | low;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

// RFC 768: the UDP pseudo-header's contribution to the checksum sum.
inline std::uint32_t udp_pseudo_header_sum(Ipv4Address source, Ipv4Address destination, std::size_t udp_length) {
  return (source.value >> 16) + (source.value & 0xffff) + (destination.value >> 16) + (destination.value & 0xffff) +
         ip_protocol::udp + static_cast<std::uint32_t>(udp_length);
}

// Appends big-endian fields to a growing frame.
class Builder {
public:
  Builder& u8(std::uint8_t v) {
    m_bytes.push_back(std::byte(v));
    return *this;
  }
  Builder& u16(std::uint16_t v) { return u8(static_cast<std::uint8_t>(v >> 8)).u8(static_cast<std::uint8_t>(v)); }
  Builder& u32(std::uint32_t v) { return u16(static_cast<std::uint16_t>(v >> 16)).u16(static_cast<std::uint16_t>(v)); }
  Builder& mac(MacAddress mac) {
    for (auto octet : mac.octets) u8(octet);
    return *this;
  }
  Builder& address(Ipv4Address address) { return u32(address.value); }
  Builder& bytes(Bytes data) {
    m_bytes.insert(m_bytes.end(), data.begin(), data.end());
    return *this;
  }
  Frame take() { return std::move(m_bytes); }

private:
  Frame m_bytes;
};

// `length` bytes that differ by position and by `seed`.
inline Frame pattern(std::size_t length, std::uint8_t seed = 0) {
  Frame bytes(length);
  for (std::size_t i = 0; i < length; ++i) bytes[i] = std::byte(static_cast<std::uint8_t>(i * 13 + seed + (i >> 8)));
  return bytes;
}

inline Frame ethernet(MacAddress destination, MacAddress source, std::uint16_t ether_type, Bytes payload) {
  return Builder().mac(destination).mac(source).u16(ether_type).bytes(payload).take();
}

struct ArpFields {
  std::uint16_t hardware_type = 1;
  std::uint16_t protocol_type = ether_type::ipv4;
  std::uint8_t hardware_length = 6;
  std::uint8_t protocol_length = 4;
  std::uint16_t operation = ArpPacket::request;
  MacAddress sender_hardware = peer_mac;
  Ipv4Address sender_protocol = peer_address;
  MacAddress target_hardware = MacAddress::zero();
  Ipv4Address target_protocol = our_address;
};

// RFC 826 packet format.
inline Frame arp(const ArpFields& f) {
  return Builder()
      .u16(f.hardware_type)
      .u16(f.protocol_type)
      .u8(f.hardware_length)
      .u8(f.protocol_length)
      .u16(f.operation)
      .mac(f.sender_hardware)
      .address(f.sender_protocol)
      .mac(f.target_hardware)
      .address(f.target_protocol)
      .take();
}

struct Ipv4Fields {
  std::uint8_t version = 4;
  std::uint8_t ihl = 5; // words; options beyond 5 are filled with NOP (RFC 791 §3.1 option type 1)
  std::uint8_t type_of_service = 0;
  std::optional<std::uint16_t> total_length; // default: header + payload
  std::uint16_t identification = 0x1234;
  bool reserved_flag = false;
  bool dont_fragment = false;
  bool more_fragments = false;
  std::uint16_t fragment_offset = 0; // bytes, a multiple of 8
  std::uint8_t time_to_live = 64;
  std::uint8_t protocol = ip_protocol::udp;
  std::optional<std::uint16_t> header_checksum; // default: the correct one
  Ipv4Address source = peer_address;
  Ipv4Address destination = our_address;
};

// RFC 791 §3.1 header followed by `payload`.
inline Frame ipv4(const Ipv4Fields& f, Bytes payload) {
  std::size_t header_length = std::size_t{f.ihl} * 4;
  Builder builder;
  builder.u8(static_cast<std::uint8_t>((f.version << 4) | (f.ihl & 0x0f)))
      .u8(f.type_of_service)
      .u16(f.total_length.value_or(static_cast<std::uint16_t>(header_length + payload.size())))
      .u16(f.identification)
      .u16(static_cast<std::uint16_t>((f.reserved_flag ? 0x8000 : 0) | (f.dont_fragment ? 0x4000 : 0) |
                                      (f.more_fragments ? 0x2000 : 0) | (f.fragment_offset / 8)))
      .u8(f.time_to_live)
      .u8(f.protocol)
      .u16(0)
      .address(f.source)
      .address(f.destination);
  for (std::size_t i = 20; i < header_length; ++i) builder.u8(1);
  Frame packet = builder.take();
  std::uint16_t checksum =
      f.header_checksum.value_or(reference_checksum(Bytes(packet).first(std::min(header_length, packet.size()))));
  store_be16(packet.data() + 10, checksum);
  packet.insert(packet.end(), payload.begin(), payload.end());
  return packet;
}

struct UdpFields {
  std::uint16_t source_port = 40000;
  std::uint16_t destination_port = 7;
  std::optional<std::uint16_t> length;   // default: 8 + payload
  std::optional<std::uint16_t> checksum; // default: the correct one (RFC 768)
  Ipv4Address source = peer_address;     // for the pseudo-header
  Ipv4Address destination = our_address;
};

// RFC 768 header followed by `payload`.
inline Frame udp(const UdpFields& f, Bytes payload) {
  std::uint16_t length = f.length.value_or(static_cast<std::uint16_t>(8 + payload.size()));
  Frame datagram = Builder().u16(f.source_port).u16(f.destination_port).u16(length).u16(0).bytes(payload).take();
  std::uint16_t checksum = 0;
  if (f.checksum) {
    checksum = *f.checksum;
  } else {
    checksum = reference_checksum(datagram, udp_pseudo_header_sum(f.source, f.destination, datagram.size()));
    if (checksum == 0) checksum = 0xffff;
  }
  store_be16(datagram.data() + 6, checksum);
  return datagram;
}

// RFC 792 message: type, code, checksum, the rest-of-header word, then data.
inline Frame icmp(std::uint8_t type, std::uint8_t code, std::uint32_t rest, Bytes data,
                  std::optional<std::uint16_t> checksum = std::nullopt) {
  Frame message = Builder().u8(type).u8(code).u16(0).u32(rest).bytes(data).take();
  store_be16(message.data() + 2, checksum.value_or(reference_checksum(message)));
  return message;
}

inline Frame ipv4_frame(const Ipv4Fields& fields, Bytes payload, MacAddress destination = our_mac,
                        MacAddress source = peer_mac) {
  return ethernet(destination, source, ether_type::ipv4, ipv4(fields, payload));
}

// A UDP datagram from the peer to us, in a frame; ports and payload as given.
inline Frame udp_frame(std::uint16_t source_port, std::uint16_t destination_port, Bytes payload) {
  Ipv4Fields ip;
  UdpFields u;
  u.source_port = source_port;
  u.destination_port = destination_port;
  return ipv4_frame(ip, udp(u, payload));
}

inline Frame arp_frame(const ArpFields& fields, MacAddress destination = MacAddress::broadcast()) {
  return ethernet(destination, fields.sender_hardware, ether_type::arp, arp(fields));
}

// The fields of an ARP reply (RFC 826) telling `target` that `sender` is at `sender_mac`.
inline ArpFields arp_reply_fields(MacAddress sender_mac, Ipv4Address sender, MacAddress target_mac,
                                  Ipv4Address target) {
  ArpFields reply;
  reply.operation = ArpPacket::reply;
  reply.sender_hardware = sender_mac;
  reply.sender_protocol = sender;
  reply.target_hardware = target_mac;
  reply.target_protocol = target;
  return reply;
}

// That reply in a frame to `target_mac`.
inline Frame arp_reply(MacAddress sender_mac, Ipv4Address sender, MacAddress target_mac, Ipv4Address target) {
  return arp_frame(arp_reply_fields(sender_mac, sender, target_mac, target), target_mac);
}

// The Ethernet addresses of a frame.
struct Link {
  MacAddress destination = our_mac;
  MacAddress source = peer_mac;
};

// A UDP datagram (checksummed, RFC 768) in IPv4 (RFC 791, no options) in Ethernet.
inline Frame udp_frame(const Link& link, Endpoint source, Endpoint destination, Bytes payload) {
  Ipv4Fields ip;
  ip.source = source.address;
  ip.destination = destination.address;
  UdpFields u;
  u.source_port = source.port;
  u.destination_port = destination.port;
  u.source = source.address;
  u.destination = destination.address;
  return ipv4_frame(ip, udp(u, payload), link.destination, link.source);
}

// A TCP segment: `header` as TcpHeader::write puts it (tested on its own),
// `payload`, and the checksum over the pseudo-header (RFC 9293 §3.1).
inline Frame tcp_segment(const TcpHeader& header, Bytes payload, Ipv4Address source, Ipv4Address destination) {
  Frame segment(header.header_length() + payload.size());
  ByteWriter writer(segment);
  header.write(writer);
  writer.bytes(payload);
  if (!writer.finish()) platform::abort("frames: TCP segment does not fit");
  store_be16(segment.data() + TcpHeader::checksum_offset, 0);
  store_be16(segment.data() + TcpHeader::checksum_offset, tcp_checksum(source, destination, segment));
  return segment;
}

// What a checksum-offloading device does to a frame the stack sent with
// checksum_partial: sums from checksum_start to the end (the field holds the
// pseudo-header sum) and stores the complement there.
inline void complete_checksum(Frame& frame, const FrameOffload& offload) {
  if (!offload.checksum_partial) return;
  std::size_t field = std::size_t{offload.checksum_start} + offload.checksum_offset;
  if (field + 2 > frame.size()) platform::abort("frames: partial checksum field beyond the frame");
  store_be16(frame.data() + field, reference_checksum(Bytes(frame).subspan(offload.checksum_start)));
}

// A frame the stack sent, taken apart with the parsers (tested on their own).
struct SentFrame {
  EthernetHeader ethernet;
  Frame payload; // everything after the Ethernet header, padding included
};

inline std::optional<SentFrame> decode_ethernet(const Frame& frame) {
  ByteReader reader(frame);
  auto header = EthernetHeader::parse(reader);
  if (!header) return std::nullopt;
  return SentFrame{*header, Frame(reader.rest().begin(), reader.rest().end())};
}

inline std::optional<ArpPacket> decode_arp(const Frame& frame) {
  auto sent = decode_ethernet(frame);
  if (!sent || sent->ethernet.ether_type != ether_type::arp) return std::nullopt;
  ByteReader reader(sent->payload);
  auto packet = ArpPacket::parse(reader);
  if (!packet) return std::nullopt;
  return *packet;
}

struct SentIpv4 {
  EthernetHeader ethernet;
  Ipv4Header header;
  Frame header_bytes;
  Frame payload; // exactly total_length - header_length bytes
};

inline std::optional<SentIpv4> decode_ipv4(const Frame& frame) {
  auto sent = decode_ethernet(frame);
  if (!sent || sent->ethernet.ether_type != ether_type::ipv4) return std::nullopt;
  ByteReader reader(sent->payload);
  auto header = Ipv4Header::parse(reader);
  if (!header) return std::nullopt;
  Bytes whole(sent->payload);
  SentIpv4 result{sent->ethernet, *header, {}, {}};
  auto header_bytes = whole.first(header->header_length);
  auto payload = whole.subspan(header->header_length, header->payload_length());
  result.header_bytes.assign(header_bytes.begin(), header_bytes.end());
  result.payload.assign(payload.begin(), payload.end());
  return result;
}

inline std::vector<ArpPacket> arp_packets(const std::vector<Frame>& sent) {
  std::vector<ArpPacket> packets;
  for (const auto& frame : sent)
    if (auto packet = decode_arp(frame)) packets.push_back(*packet);
  return packets;
}

inline std::vector<SentIpv4> ipv4_packets(const std::vector<Frame>& sent) {
  std::vector<SentIpv4> packets;
  for (const auto& frame : sent)
    if (auto packet = decode_ipv4(frame)) packets.push_back(std::move(*packet));
  return packets;
}

using test_support::counter_value;
using test_support::CounterWatch;

inline Task<void> sleep_task(Duration duration) { (void)co_await sleep_for(duration); }

// Runs the loop until `socket` has a datagram or `timeout` passes.
inline Result<Datagram> receive(UdpSocket& socket, Duration timeout = std::chrono::seconds(5)) {
  return loop().run(socket.receive_from(MonotonicClock::now() + timeout));
}

inline Frame to_frame(Bytes bytes) { return Frame(bytes.begin(), bytes.end()); }

inline Ipv4Config default_config(std::optional<Ipv4Address> gateway = std::nullopt) {
  Ipv4Config config;
  config.address = our_cidr;
  config.gateway = gateway;
  return config;
}

// A fresh simulated platform with one device and a started stack on it,
// configured as 10.0.0.2/24 unless told otherwise. The announcement that
// configuration sends is taken off the device.
class SimNetwork {
public:
  explicit SimNetwork(std::optional<Ipv4Config> config = default_config(), std::uint16_t mtu = 1500,
                      NetOffloads offloads = {}) {
    sim::reset();
    m_device = sim::add_device(our_mac_octets, mtu);
    sim::set_offloads(m_device, offloads);
    m_stack = MUST(Stack::create({.device = m_device}));
    m_stack->start();
    if (config) {
      m_stack->set_config(*config);
      (void)sim::take_sent(m_device);
    }
  }
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;
  ~SimNetwork() { m_stack.reset(); }

  Stack& stack() { return *m_stack; }
  std::size_t device() const { return m_device; }

  void inject(Bytes frame, const FrameOffload& offload = {}) { sim::inject(m_device, frame, offload); }
  // Drives the loop (and the virtual clock) for at least `duration`.
  void run_for(Duration duration) { loop().run(sleep_task(duration)); }
  // Lets the stack handle what was injected; the clock moves by at most a timer tick.
  void settle() { run_for(std::chrono::milliseconds(1)); }
  std::vector<Frame> sent() { return sim::take_sent(m_device); }
  // The frames sent with what each asked of the device.
  std::vector<std::pair<Frame, FrameOffload>> sent_with_offloads() {
    auto offloads = sim::take_sent_offloads(m_device);
    auto frames = sim::take_sent(m_device);
    std::vector<std::pair<Frame, FrameOffload>> both;
    for (std::size_t i = 0; i < frames.size(); ++i) both.emplace_back(std::move(frames[i]), offloads.at(i));
    return both;
  }
  // The peer asks for our address, so the stack learns its MAC (RFC 826); the reply is discarded.
  void learn(MacAddress mac = peer_mac, Ipv4Address address = peer_address) {
    ArpFields request;
    request.sender_hardware = mac;
    request.sender_protocol = address;
    inject(arp_frame(request));
    settle();
    (void)sent();
  }

private:
  std::size_t m_device = 0;
  std::unique_ptr<Stack> m_stack;
};

} // namespace morgana::net::frames
