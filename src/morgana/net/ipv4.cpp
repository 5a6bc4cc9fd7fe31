#include "morgana/net/ipv4.h"

#include "morgana/core/counter.h"
#include "morgana/core/event_loop.h"
#include "morgana/core/log.h"
#include "morgana/net/ethernet.h"
#include "morgana/net/stack.h"

namespace morgana::net {
namespace {

log::Source ipv4_log{"ipv4"};

Counter received{"ipv4.received", "IPv4 datagrams and fragments received"};
Counter truncated{"ipv4.truncated", "IPv4 packets shorter than their header or total length"};
Counter malformed{"ipv4.malformed", "IPv4 packets with a bad version, IHL, flags or length"};
Counter bad_checksum{"ipv4.bad_checksum", "IPv4 headers whose checksum does not verify"};
Counter ttl_zero{"ipv4.ttl_zero", "IPv4 packets received with a TTL of zero"};
Counter bad_source{"ipv4.bad_source", "IPv4 packets from a broadcast, multicast or loopback address"};
Counter not_for_us{"ipv4.not_for_us", "IPv4 packets for another host"};
Counter reassembly_dropped{"ipv4.reassembly_dropped", "fragments dropped by reassembly (overlap, limits)"};
Counter reassembly_timeout{"ipv4.reassembly_timeout", "datagrams whose fragments did not all arrive in time"};
Counter reassembled{"ipv4.reassembled", "datagrams reassembled from fragments"};
Counter unknown_protocol{"ipv4.unknown_protocol", "IPv4 datagrams for a protocol we do not handle"};
Counter no_route{"ipv4.no_route", "datagrams not sent for want of a route"};
Counter fragments_sent{"ipv4.fragments_sent", "fragments sent for datagrams above the MTU"};

constexpr std::uint8_t default_ttl = 64;

} // namespace

bool Ipv4::accepts(Ipv4Address address) const {
  const auto& ours = m_stack.config().address;
  // Until an address is configured (DHCP) every datagram may be for us.
  if (ours.address.is_any()) return true;
  return address == ours.address || (is_broadcast(address) && !address.is_multicast());
}

bool Ipv4::is_broadcast(Ipv4Address address) const {
  const auto& ours = m_stack.config().address;
  return address.is_broadcast() || address.is_multicast() ||
         (!ours.address.is_any() && ours.prefix_length < 31 && address == ours.directed_broadcast());
}

Result<Ipv4Address> Ipv4::next_hop(Ipv4Address destination) const {
  const auto& config = m_stack.config();
  if (destination.is_broadcast()) return destination;
  if (destination.is_multicast()) return fail(Errc::unsupported, "multicast");
  if (config.address.address.is_any()) return fail(Errc::unreachable, "no IPv4 address configured");
  if (config.address.contains(destination)) return destination;
  if (config.gateway) return *config.gateway;
  return fail(Errc::unreachable, "no route (no gateway)");
}

void Ipv4::receive(PacketBuffer packet) {
  received.increment();
  ByteReader reader(packet.data());
  auto parsed = Ipv4Header::parse(reader);
  if (!parsed) {
    switch (parsed.error().code) {
    case Errc::truncated: truncated.increment(); break;
    case Errc::bad_checksum: bad_checksum.increment(); break;
    default: malformed.increment(); break;
    }
    ipv4_log.trace("dropped: {}", parsed.error());
    return;
  }
  auto header = *parsed;
  // RFC 791 §3.2: a datagram whose TTL is zero must be destroyed.
  if (header.time_to_live == 0) {
    ttl_zero.increment();
    return;
  }
  if (header.source.is_broadcast() || header.source.is_multicast() || header.source.is_loopback()) {
    bad_source.increment();
    return;
  }
  if (!accepts(header.destination)) {
    not_for_us.increment();
    return;
  }
  // Drop link-layer padding, then the header.
  MUST(packet.truncate(header.total_length));
  MUST(packet.trim_front(header.header_length));
  if (!header.is_fragment()) {
    deliver(header, std::move(packet));
    return;
  }
  auto whole = m_reassembler.add(header, packet.data(), MonotonicClock::now());
  if (!whole) {
    reassembly_dropped.increment();
    ipv4_log.debug("fragment from {} id {} dropped: {}", header.source, header.identification, whole.error());
    return;
  }
  if (!whole->has_value()) return;
  PacketBuffer payload = std::move(**whole);
  if (header.header_length + payload.size() > 65535) {
    malformed.increment();
    return;
  }
  reassembled.increment();
  header.more_fragments = false;
  header.fragment_offset = 0;
  header.total_length = static_cast<std::uint16_t>(header.header_length + payload.size());
  deliver(header, std::move(payload));
}

void Ipv4::deliver(const Ipv4Header& header, PacketBuffer payload) {
  switch (header.protocol) {
  case ip_protocol::icmp: m_stack.icmp().receive(header, std::move(payload)); break;
  case ip_protocol::udp: m_stack.udp().receive(header, std::move(payload)); break;
  case ip_protocol::tcp: m_stack.tcp().receive(header, std::move(payload)); break;
  default: unknown_protocol.increment(); break;
  }
}

Result<void> Ipv4::send(Ipv4Address source, Ipv4Address destination, std::uint8_t protocol, PacketBuffer payload,
                        bool dont_fragment) {
  auto hop = next_hop(destination);
  if (!hop) {
    no_route.increment();
    return std::unexpected(hop.error());
  }
  // A TSO frame is cut by the device into segments that fit the MTU, each with
  // DF; never fragment it.
  const std::size_t segment_size = payload.offload().segment_size;
  bool segmented = segment_size != 0;
  if (segmented) {
    if (payload.size() + Ipv4Header::minimum_size > 65535) return fail(Errc::no_space, "TSO frame above 65535 bytes");
    dont_fragment = true;
  }
  // The device numbers the segments of a TSO frame on from its identification.
  std::size_t datagrams = segmented ? (payload.size() + segment_size - 1) / segment_size : 1;
  Ipv4Header header;
  header.identification = m_next_identification;
  m_next_identification = static_cast<std::uint16_t>(m_next_identification + datagrams);
  header.dont_fragment = dont_fragment;
  header.time_to_live = default_ttl;
  header.protocol = protocol;
  header.source = source;
  header.destination = destination;
  if (!segmented && payload.size() + Ipv4Header::minimum_size > m_stack.mtu()) {
    if (dont_fragment) return fail(Errc::no_space, "datagram above the MTU with DF set");
    return send_fragments(header, *hop, payload.data());
  }
  header.total_length = static_cast<std::uint16_t>(payload.size() + Ipv4Header::minimum_size);
  ByteWriter writer(TRY(payload.prepend(Ipv4Header::minimum_size)));
  header.write(writer);
  TRY(writer.finish());
  return transmit(*hop, std::move(payload));
}

Result<void> Ipv4::send_fragments(Ipv4Header header, Ipv4Address next_hop, Bytes payload) {
  if (payload.size() + Ipv4Header::minimum_size > 65535) return fail(Errc::no_space, "datagram above 65535 bytes");
  // RFC 791 §3.2: every fragment but the last carries a multiple of 8 bytes.
  const std::size_t piece = (m_stack.mtu() - Ipv4Header::minimum_size) & ~std::size_t{7};
  for (std::size_t offset = 0; offset < payload.size(); offset += piece) {
    auto length = std::min(piece, payload.size() - offset);
    auto fragment = TRY(PacketBuffer::copy_of(payload.subspan(offset, length)));
    header.fragment_offset = static_cast<std::uint16_t>(offset);
    header.more_fragments = offset + length < payload.size();
    header.total_length = static_cast<std::uint16_t>(length + Ipv4Header::minimum_size);
    ByteWriter writer(TRY(fragment.prepend(Ipv4Header::minimum_size)));
    header.write(writer);
    TRY(writer.finish());
    TRY(transmit(next_hop, std::move(fragment)));
    fragments_sent.increment();
  }
  return {};
}

Result<void> Ipv4::transmit(Ipv4Address next_hop, PacketBuffer packet) {
  if (is_broadcast(next_hop)) return m_stack.send_frame(MacAddress::broadcast(), ether_type::ipv4, std::move(packet));
  return m_stack.arp().send_ipv4(next_hop, std::move(packet));
}

Task<void> Ipv4::run_timers() {
  while (true) {
    (void)co_await sleep_for(std::chrono::seconds(1));
    reassembly_timeout.increment(m_reassembler.expire(MonotonicClock::now()));
  }
}

} // namespace morgana::net
