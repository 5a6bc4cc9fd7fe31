#include "morgana/net/ipv4.h"

#include <gtest/gtest.h>

#include "frames.h"
#include "morgana/net/ipv4_reassembly.h"

namespace morgana::net {
namespace {

using namespace frames;

// One IPv4 datagram from the peer to us split into fragments of `piece` bytes
// (a multiple of 8), each in its own frame (RFC 791 §3.2).
std::vector<Frame> fragment_frames(Bytes datagram, std::size_t piece, std::uint16_t identification,
                                   std::uint8_t protocol = ip_protocol::udp) {
  std::vector<Frame> fragments;
  for (std::size_t offset = 0; offset < datagram.size(); offset += piece) {
    auto length = std::min(piece, datagram.size() - offset);
    Ipv4Fields fields;
    fields.identification = identification;
    fields.protocol = protocol;
    fields.fragment_offset = static_cast<std::uint16_t>(offset);
    fields.more_fragments = offset + length < datagram.size();
    fragments.push_back(ipv4_frame(fields, datagram.subspan(offset, length)));
  }
  return fragments;
}

Frame udp_datagram(std::uint16_t destination_port, Bytes payload) {
  UdpFields fields;
  fields.destination_port = destination_port;
  return udp(fields, payload);
}

TEST(Ipv4, DeliversDatagramForUs) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  Frame payload = pattern(100);
  net.inject(udp_frame(40000, 7, payload));
  auto datagram = receive(*socket);
  ASSERT_TRUE(datagram.has_value());
  EXPECT_EQ(datagram->source, (Endpoint{peer_address, 40000}));
  EXPECT_EQ(datagram->destination, our_address);
  EXPECT_EQ(to_frame(datagram->payload.data()), payload);
}

TEST(Ipv4, DropsDatagramForAnotherHost) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  CounterWatch not_for_us("ipv4.not_for_us");
  CounterWatch delivered("udp.received");
  Ipv4Fields fields;
  fields.destination = other_address;
  UdpFields u;
  u.destination = other_address;
  net.inject(ipv4_frame(fields, udp(u, pattern(10))));
  net.settle();
  EXPECT_EQ(not_for_us.delta(), 1u);
  EXPECT_EQ(delivered.delta(), 0u);
  EXPECT_TRUE(net.sent().empty());
}

// RFC 1122 §3.3.6: limited and directed broadcasts are received.
TEST(Ipv4, AcceptsBroadcastDestinations) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  for (auto destination : {Ipv4Address::broadcast(), directed_broadcast}) {
    Ipv4Fields fields;
    fields.destination = destination;
    UdpFields u;
    u.destination = destination;
    net.inject(ipv4_frame(fields, udp(u, pattern(10)), MacAddress::broadcast()));
    auto datagram = receive(*socket);
    ASSERT_TRUE(datagram.has_value());
    EXPECT_EQ(datagram->destination, destination);
  }
}

TEST(Ipv4, UnconfiguredStackAcceptsAnyDestination) {
  SimNetwork net(std::nullopt);
  auto socket = MUST(net.stack().udp().bind(68));
  Ipv4Fields fields;
  fields.destination = other_address;
  UdpFields u;
  u.destination = other_address;
  u.destination_port = 68;
  net.inject(ipv4_frame(fields, udp(u, pattern(10))));
  EXPECT_TRUE(receive(*socket).has_value());
}

// RFC 894: Ethernet pads short frames; only total length bytes are the datagram.
TEST(Ipv4, StripsLinkPadding) {
  SimNetwork net;
  net.learn();
  Frame data = pattern(4);
  Frame request =
      ipv4_frame(Ipv4Fields{.protocol = ip_protocol::icmp}, icmp(IcmpHeader::echo_request, 0, 0x00010001, data));
  request.resize(EthernetHeader::minimum_frame, std::byte{0});
  net.inject(request);
  net.settle();
  auto replies = ipv4_packets(net.sent());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].header.total_length, 20 + 8 + 4);
  EXPECT_EQ(replies[0].payload.size(), 8u + 4);
}

TEST(Ipv4, DropsTtlZero) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  CounterWatch ttl_zero("ipv4.ttl_zero");
  Ipv4Fields fields;
  fields.time_to_live = 0;
  net.inject(ipv4_frame(fields, udp_datagram(7, pattern(10))));
  net.settle();
  EXPECT_EQ(ttl_zero.delta(), 1u);
  // RFC 1122 §3.2.1.7: a host must not drop a datagram just because its TTL is 1.
  fields.time_to_live = 1;
  net.inject(ipv4_frame(fields, udp_datagram(7, pattern(10))));
  EXPECT_TRUE(receive(*socket).has_value());
}

// RFC 1122 §3.2.1.3: a source address that is broadcast, multicast or loopback is discarded.
TEST(Ipv4, DropsBadSources) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  CounterWatch bad_source("ipv4.bad_source");
  for (auto source :
       {Ipv4Address::broadcast(), Ipv4Address::from_octets(224, 0, 0, 1), Ipv4Address::from_octets(127, 0, 0, 1)}) {
    Ipv4Fields fields;
    fields.source = source;
    UdpFields u;
    u.source = source;
    net.inject(ipv4_frame(fields, udp(u, pattern(10))));
  }
  net.settle();
  EXPECT_EQ(bad_source.delta(), 3u);
  EXPECT_TRUE(net.sent().empty());
}

TEST(Ipv4, CountsHeaderErrors) {
  SimNetwork net;
  CounterWatch truncated("ipv4.truncated");
  CounterWatch malformed("ipv4.malformed");
  CounterWatch bad_checksum("ipv4.bad_checksum");
  Frame datagram = udp_datagram(7, pattern(10));
  Frame short_frame = ipv4_frame(Ipv4Fields{}, datagram);
  short_frame.resize(EthernetHeader::size + 19);
  net.inject(short_frame);
  net.inject(ipv4_frame(Ipv4Fields{.total_length = 200}, datagram));
  net.inject(ipv4_frame(Ipv4Fields{.version = 6}, datagram));
  net.inject(ipv4_frame(Ipv4Fields{.ihl = 4}, datagram));
  net.inject(ipv4_frame(Ipv4Fields{.reserved_flag = true}, datagram));
  net.inject(ipv4_frame(Ipv4Fields{.total_length = 10}, datagram));
  net.inject(ipv4_frame(Ipv4Fields{.header_checksum = 0x1234}, datagram));
  net.settle();
  EXPECT_EQ(truncated.delta(), 2u);
  EXPECT_EQ(malformed.delta(), 4u);
  EXPECT_EQ(bad_checksum.delta(), 1u);
  EXPECT_TRUE(net.sent().empty());
}

TEST(Ipv4, CountsUnknownProtocols) {
  SimNetwork net;
  CounterWatch unknown("ipv4.unknown_protocol");
  net.inject(ipv4_frame(Ipv4Fields{.protocol = 132}, pattern(12))); // SCTP
  net.settle();
  EXPECT_EQ(unknown.delta(), 1u);
}

// RFC 791 §3.2: fragments, in any order, are reassembled before delivery.
TEST(Ipv4, ReassemblesFragmentsForDelivery) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  CounterWatch reassembled("ipv4.reassembled");
  Frame payload = pattern(3000, 5);
  auto fragments = fragment_frames(udp_datagram(7, payload), 1480, 0x4242);
  ASSERT_EQ(fragments.size(), 3u);
  net.inject(fragments[2]);
  net.inject(fragments[0]);
  net.inject(fragments[1]);
  auto datagram = receive(*socket);
  ASSERT_TRUE(datagram.has_value());
  EXPECT_EQ(to_frame(datagram->payload.data()), payload);
  EXPECT_EQ(reassembled.delta(), 1u);
}

TEST(Ipv4, IncompleteFragmentsTimeOut) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  CounterWatch timeouts("ipv4.reassembly_timeout");
  auto fragments = fragment_frames(udp_datagram(7, pattern(2000)), 1000, 7);
  net.inject(fragments[0]);
  net.settle();
  net.run_for(std::chrono::seconds(35));
  EXPECT_EQ(timeouts.delta(), 1u);
  // The late last fragment alone completes nothing.
  net.inject(fragments[1]);
  auto datagram = receive(*socket, std::chrono::seconds(2));
  ASSERT_FALSE(datagram.has_value());
  EXPECT_EQ(datagram.error().code, Errc::timed_out);
}

// Checks one fragment the stack sent: a valid header within the MTU, and its
// place in the datagram (RFC 791 §3.2: offsets in 8-byte units, MF on all but the last).
void check_fragments(const std::vector<SentIpv4>& fragments, std::size_t mtu, std::size_t datagram_length) {
  ASSERT_FALSE(fragments.empty());
  std::size_t expected_offset = 0;
  for (std::size_t i = 0; i < fragments.size(); ++i) {
    const auto& fragment = fragments[i];
    bool last = i + 1 == fragments.size();
    EXPECT_LE(fragment.header.total_length, mtu);
    EXPECT_EQ(reference_checksum(fragment.header_bytes), 0);
    EXPECT_EQ(fragment.header.identification, fragments[0].header.identification);
    EXPECT_EQ(fragment.header.fragment_offset, expected_offset);
    EXPECT_EQ(fragment.header.fragment_offset % 8, 0);
    EXPECT_EQ(fragment.header.more_fragments, !last);
    EXPECT_FALSE(fragment.header.dont_fragment);
    if (!last) EXPECT_EQ(fragment.payload.size() % 8, 0u);
    expected_offset += fragment.payload.size();
  }
  EXPECT_EQ(expected_offset, datagram_length);
}

class Ipv4Fragmentation : public ::testing::TestWithParam<std::uint16_t> {};

TEST_P(Ipv4Fragmentation, FragmentsAboveTheMtuAndReassembles) {
  const std::uint16_t mtu = GetParam();
  SimNetwork net(default_config(), mtu);
  net.learn();
  auto socket = MUST(net.stack().udp().bind(5000));
  Frame payload = pattern(4000, 9);
  ASSERT_TRUE(socket->send_to({peer_address, 7}, payload).has_value());
  auto fragments = ipv4_packets(net.sent());
  ASSERT_EQ(fragments.size(), (8 + payload.size() + ((mtu - 20) & ~7u) - 1) / ((mtu - 20) & ~7u));
  check_fragments(fragments, mtu, 8 + payload.size());
  for (const auto& fragment : fragments) EXPECT_EQ(fragment.ethernet.destination, peer_mac);

  // The project's own reassembler puts them back together, here in reverse order
  // (allowing more than its default 64 fragments, for the smallest MTU).
  Ipv4Reassembler reassembler(Ipv4Reassembler::Limits{.max_fragments = 128});
  std::optional<PacketBuffer> whole;
  for (auto it = fragments.rbegin(); it != fragments.rend(); ++it) {
    auto added = reassembler.add(it->header, it->payload, MonotonicClock::now());
    ASSERT_TRUE(added.has_value()) << added.error().context;
    if (*added) whole = std::move(**added);
  }
  ASSERT_TRUE(whole.has_value());
  ASSERT_EQ(whole->size(), 8 + payload.size());
  Bytes datagram = whole->data();
  EXPECT_EQ(load_be16(datagram.data()), 5000);
  EXPECT_EQ(load_be16(datagram.data() + 2), 7);
  EXPECT_EQ(load_be16(datagram.data() + 4), 8 + payload.size());
  EXPECT_EQ(reference_checksum(datagram, udp_pseudo_header_sum(our_address, peer_address, datagram.size())), 0);
  EXPECT_EQ(to_frame(datagram.subspan(8)), payload);
}

INSTANTIATE_TEST_SUITE_P(Mtus, Ipv4Fragmentation, ::testing::Values(1500, 1280, 576, 68));

TEST(Ipv4, DatagramAtTheMtuIsNotFragmented) {
  SimNetwork net;
  net.learn();
  auto socket = MUST(net.stack().udp().bind(5000));
  ASSERT_TRUE(socket->send_to({peer_address, 7}, pattern(1500 - 28)).has_value());
  auto sent = ipv4_packets(net.sent());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.total_length, 1500);
  EXPECT_FALSE(sent[0].header.is_fragment());
  EXPECT_EQ(sent[0].header.time_to_live, 64);
  EXPECT_EQ(sent[0].header.source, our_address);
  EXPECT_EQ(sent[0].header.destination, peer_address);
  EXPECT_EQ(sent[0].header.protocol, ip_protocol::udp);
  EXPECT_EQ(reference_checksum(sent[0].header_bytes), 0);
  EXPECT_EQ(sent[0].ethernet.source, our_mac);
  EXPECT_EQ(sent[0].ethernet.ether_type, ether_type::ipv4);
}

TEST(Ipv4, UsesANewIdentificationPerDatagram) {
  SimNetwork net;
  net.learn();
  auto socket = MUST(net.stack().udp().bind(5000));
  ASSERT_TRUE(socket->send_to({peer_address, 7}, pattern(10)).has_value());
  ASSERT_TRUE(socket->send_to({peer_address, 7}, pattern(10)).has_value());
  auto sent = ipv4_packets(net.sent());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[0].header.identification, sent[1].header.identification);
}

// RFC 791 §3.1: a datagram with DF set that does not fit is not sent.
TEST(Ipv4, DontFragmentAboveTheMtuFails) {
  SimNetwork net;
  net.learn();
  auto fits = MUST(PacketBuffer::copy_of(pattern(1480)));
  ASSERT_TRUE(net.stack().ipv4().send(our_address, peer_address, 253, std::move(fits), true).has_value());
  auto sent = ipv4_packets(net.sent());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].header.dont_fragment);
  EXPECT_EQ(sent[0].header.protocol, 253);

  auto too_big = MUST(PacketBuffer::copy_of(pattern(1481)));
  auto result = net.stack().ipv4().send(our_address, peer_address, 253, std::move(too_big), true);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::no_space);
  EXPECT_TRUE(net.sent().empty());
}

TEST(Ipv4, RefusesDatagramsAbove65535Bytes) {
  SimNetwork net;
  net.learn();
  auto too_big = MUST(PacketBuffer::copy_of(pattern(65535 - 20 + 1)));
  auto result = net.stack().ipv4().send(our_address, peer_address, 253, std::move(too_big));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::no_space);
  EXPECT_TRUE(net.sent().empty());
}

// RFC 1122 §3.3.1.1: on-link destinations are resolved directly, others through the gateway.
TEST(Ipv4, RoutesOnLinkDirectly) {
  SimNetwork net(default_config(gateway_address));
  auto socket = MUST(net.stack().udp().bind(5000));
  ASSERT_TRUE(socket->send_to({peer_address, 7}, pattern(10)).has_value());
  auto requests = arp_packets(net.sent());
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target_protocol, peer_address);
  EXPECT_EQ(net.stack().ipv4().next_hop(peer_address), peer_address);
}

TEST(Ipv4, RoutesOffLinkThroughTheGateway) {
  SimNetwork net(default_config(gateway_address));
  auto socket = MUST(net.stack().udp().bind(5000));
  ASSERT_TRUE(socket->send_to({remote_address, 7}, pattern(10)).has_value());
  auto requests = arp_packets(net.sent());
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target_protocol, gateway_address);

  ArpFields reply;
  reply.operation = ArpPacket::reply;
  reply.sender_hardware = gateway_mac;
  reply.sender_protocol = gateway_address;
  reply.target_hardware = our_mac;
  net.inject(arp_frame(reply, our_mac));
  net.settle();
  auto sent = ipv4_packets(net.sent());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ethernet.destination, gateway_mac);
  EXPECT_EQ(sent[0].header.destination, remote_address);
}

TEST(Ipv4, NoRouteIsUnreachable) {
  SimNetwork net;
  CounterWatch no_route("ipv4.no_route");
  auto socket = MUST(net.stack().udp().bind(5000));
  auto result = socket->send_to({remote_address, 7}, pattern(10));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::unreachable);
  EXPECT_EQ(no_route.delta(), 1u);
  EXPECT_TRUE(net.sent().empty());
}

TEST(Ipv4, UnconfiguredIsUnreachableExceptBroadcast) {
  SimNetwork net(std::nullopt);
  auto socket = MUST(net.stack().udp().bind(68));
  auto result = socket->send_to({peer_address, 67}, pattern(10));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::unreachable);
  // DHCP's case (RFC 2131 §4.1): from 0.0.0.0 to the limited broadcast.
  ASSERT_TRUE(socket->send_from(Ipv4Address::any(), {Ipv4Address::broadcast(), 67}, pattern(10)).has_value());
  auto sent = ipv4_packets(net.sent());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ethernet.destination, MacAddress::broadcast());
  EXPECT_EQ(sent[0].header.source, Ipv4Address::any());
}

// RFC 1122 §3.3.6: broadcasts go to the link broadcast address, no ARP.
TEST(Ipv4, BroadcastsWithoutArp) {
  SimNetwork net(default_config(gateway_address));
  auto socket = MUST(net.stack().udp().bind(5000));
  for (auto destination : {Ipv4Address::broadcast(), directed_broadcast}) {
    ASSERT_TRUE(socket->send_to({destination, 9}, pattern(10)).has_value());
    auto sent = net.sent();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_TRUE(arp_packets(sent).empty());
    auto packet = decode_ipv4(sent[0]);
    ASSERT_TRUE(packet.has_value());
    EXPECT_EQ(packet->ethernet.destination, MacAddress::broadcast());
    EXPECT_EQ(packet->header.destination, destination);
  }
}

TEST(Ipv4, BroadcastsFragmentedWithoutArp) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(5000));
  ASSERT_TRUE(socket->send_to({Ipv4Address::broadcast(), 9}, pattern(3000)).has_value());
  auto sent = net.sent();
  EXPECT_TRUE(arp_packets(sent).empty());
  auto fragments = ipv4_packets(sent);
  check_fragments(fragments, 1500, 3008);
  for (const auto& fragment : fragments) EXPECT_EQ(fragment.ethernet.destination, MacAddress::broadcast());
}

TEST(Ipv4, RefusesMulticastDestinations) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(5000));
  auto result = socket->send_to({Ipv4Address::from_octets(224, 0, 0, 251), 5353}, pattern(10));
  ASSERT_FALSE(result.has_value());
  EXPECT_TRUE(net.sent().empty());
}

TEST(Ipv4, PrefixSlash31HasNoDirectedBroadcast) {
  // RFC 3021: on a /31 both addresses are hosts.
  Ipv4Config config;
  config.address = {Ipv4Address::from_octets(10, 0, 0, 0), 31};
  SimNetwork net(config);
  EXPECT_FALSE(net.stack().ipv4().is_broadcast(Ipv4Address::from_octets(10, 0, 0, 1)));
  EXPECT_TRUE(net.stack().ipv4().is_broadcast(Ipv4Address::broadcast()));
}

} // namespace
} // namespace morgana::net
