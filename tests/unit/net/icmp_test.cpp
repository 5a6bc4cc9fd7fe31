#include "morgana/net/icmp.h"

#include <gtest/gtest.h>

#include "frames.h"

namespace morgana::net {
namespace {

using namespace frames;

Result<IcmpHeader> parse(Bytes bytes) {
  ByteReader reader(bytes);
  return IcmpHeader::parse(reader);
}

// RFC 792 "Echo or Echo Reply Message": type, code, checksum, identifier, sequence number.
TEST(IcmpHeader, ParsesEveryField) {
  Frame message = icmp(IcmpHeader::echo_request, 0, 0x1234abcd, pattern(33));
  ByteReader reader(message);
  auto header = IcmpHeader::parse(reader);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->type, IcmpHeader::echo_request);
  EXPECT_EQ(header->code, 0);
  EXPECT_EQ(header->checksum, load_be16(message.data() + 2));
  EXPECT_EQ(header->rest, 0x1234abcdu);
  EXPECT_EQ(reader.position(), IcmpHeader::size);
}

TEST(IcmpHeader, TruncatedAtEveryLength) {
  Frame message = icmp(IcmpHeader::echo_request, 0, 1, {});
  for (std::size_t length = 0; length < IcmpHeader::size; ++length) {
    auto header = parse(Bytes(message).first(length));
    ASSERT_FALSE(header.has_value()) << length;
    EXPECT_EQ(header.error().code, Errc::truncated) << length;
  }
  EXPECT_TRUE(parse(message).has_value());
}

// RFC 792: the checksum covers the whole message, data included.
TEST(IcmpHeader, RejectsBadChecksum) {
  Frame message = icmp(IcmpHeader::echo_request, 0, 1, pattern(9));
  message.back() ^= std::byte{0x01};
  auto header = parse(message);
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error().code, Errc::bad_checksum);
  Frame wrong_field = icmp(IcmpHeader::echo_request, 0, 1, pattern(9), 0x0001);
  EXPECT_EQ(parse(wrong_field).error().code, Errc::bad_checksum);
}

TEST(IcmpHeader, WritesWireOrder) {
  std::byte buffer[IcmpHeader::size];
  ByteWriter writer(buffer);
  IcmpHeader{IcmpHeader::destination_unreachable, IcmpHeader::port_unreachable_code, 0xbeef, 0x01020304}.write(writer);
  ASSERT_TRUE(writer.finish().has_value());
  Frame expected = Builder().u8(3).u8(3).u16(0xbeef).u32(0x01020304).take();
  EXPECT_EQ(to_frame(buffer), expected);
}

Frame echo_request_frame(std::uint16_t identifier, std::uint16_t sequence, Bytes data,
                         Ipv4Address destination = our_address, MacAddress link_destination = our_mac) {
  Ipv4Fields fields;
  fields.protocol = ip_protocol::icmp;
  fields.destination = destination;
  return ipv4_frame(fields, icmp(IcmpHeader::echo_request, 0, (std::uint32_t{identifier} << 16) | sequence, data),
                    link_destination);
}

// RFC 792: the reply swaps the addresses, sets type 0, keeps identifier,
// sequence number and data, and carries a valid checksum.
TEST(Icmp, AnswersEchoRequest) {
  SimNetwork net;
  net.learn();
  CounterWatch answered("icmp.echo_requests");
  for (std::size_t length : {0u, 1u, 56u, 1471u, 1472u}) {
    Frame data = pattern(length, static_cast<std::uint8_t>(length));
    std::uint16_t sequence = static_cast<std::uint16_t>(length + 1);
    net.inject(echo_request_frame(0x4d47, sequence, data));
    net.settle();
    auto replies = ipv4_packets(net.sent());
    ASSERT_EQ(replies.size(), 1u) << length;
    const auto& reply = replies[0];
    EXPECT_EQ(reply.ethernet.destination, peer_mac);
    EXPECT_EQ(reply.header.source, our_address);
    EXPECT_EQ(reply.header.destination, peer_address);
    EXPECT_EQ(reply.header.protocol, ip_protocol::icmp);
    EXPECT_EQ(reference_checksum(reply.payload), 0) << length;
    EXPECT_EQ(reply.payload, icmp(IcmpHeader::echo_reply, 0, (0x4d47u << 16) | sequence, data)) << length;
  }
  EXPECT_EQ(answered.delta(), 5u);
}

// The incremental checksum update (RFC 1624) must be right for every checksum value.
TEST(Icmp, ReplyChecksumIsRightForManySequences) {
  SimNetwork net;
  net.learn();
  Frame data = pattern(20);
  // All at once, so the virtual clock stays within the ARP entry's lifetime.
  std::size_t count = 0;
  for (std::uint32_t sequence = 0; sequence < 0x10000; sequence += 97, ++count)
    net.inject(echo_request_frame(0xffff, static_cast<std::uint16_t>(sequence), data));
  net.settle();
  auto replies = ipv4_packets(net.sent());
  ASSERT_EQ(replies.size(), count);
  for (const auto& reply : replies)
    ASSERT_EQ(reference_checksum(reply.payload), 0) << load_be16(reply.payload.data() + 6);
}

TEST(Icmp, AnswersFragmentedEchoWithFragments) {
  SimNetwork net;
  net.learn();
  Frame data = pattern(3000);
  Frame message = icmp(IcmpHeader::echo_request, 0, 0x00070008, data);
  for (std::size_t offset = 0; offset < message.size(); offset += 1480) {
    auto length = std::min<std::size_t>(1480, message.size() - offset);
    Ipv4Fields fields;
    fields.protocol = ip_protocol::icmp;
    fields.identification = 99;
    fields.fragment_offset = static_cast<std::uint16_t>(offset);
    fields.more_fragments = offset + length < message.size();
    net.inject(ipv4_frame(fields, Bytes(message).subspan(offset, length)));
  }
  net.settle();
  auto fragments = ipv4_packets(net.sent());
  ASSERT_EQ(fragments.size(), 3u);
  Frame reply;
  for (const auto& fragment : fragments) reply.insert(reply.end(), fragment.payload.begin(), fragment.payload.end());
  EXPECT_EQ(reply, icmp(IcmpHeader::echo_reply, 0, 0x00070008, data));
}

// RFC 1122 §3.2.2.6: an echo request to a broadcast address may be silently discarded.
TEST(Icmp, IgnoresBroadcastEcho) {
  SimNetwork net;
  net.learn();
  CounterWatch ignored("icmp.broadcast_echo_ignored");
  net.inject(echo_request_frame(1, 1, pattern(8), Ipv4Address::broadcast(), MacAddress::broadcast()));
  net.inject(echo_request_frame(1, 2, pattern(8), directed_broadcast, MacAddress::broadcast()));
  net.settle();
  EXPECT_TRUE(net.sent().empty());
  EXPECT_EQ(ignored.delta(), 2u);
}

// RFC 1122 §3.2.2: no ICMP message is sent in answer to an ICMP error (or a reply).
TEST(Icmp, DoesNotAnswerOtherMessages) {
  SimNetwork net;
  net.learn();
  CounterWatch other("icmp.other_messages");
  Frame quoted = pattern(28);
  for (auto [type, code] : {std::pair{IcmpHeader::echo_reply, 0}, std::pair{IcmpHeader::destination_unreachable, 3},
                            std::pair{IcmpHeader::time_exceeded, 0}, std::pair{IcmpHeader::echo_request, 1}}) {
    Ipv4Fields fields;
    fields.protocol = ip_protocol::icmp;
    net.inject(ipv4_frame(fields, icmp(type, static_cast<std::uint8_t>(code), 0, quoted)));
  }
  net.settle();
  EXPECT_TRUE(net.sent().empty());
  EXPECT_EQ(other.delta(), 4u);
}

TEST(Icmp, CountsBadAndShortMessages) {
  SimNetwork net;
  net.learn();
  CounterWatch bad_checksum("icmp.bad_checksum");
  CounterWatch malformed("icmp.malformed");
  Ipv4Fields fields;
  fields.protocol = ip_protocol::icmp;
  net.inject(ipv4_frame(fields, icmp(IcmpHeader::echo_request, 0, 1, pattern(8), 0x5555)));
  net.inject(ipv4_frame(fields, Bytes(icmp(IcmpHeader::echo_request, 0, 1, {})).first(7)));
  net.settle();
  EXPECT_TRUE(net.sent().empty());
  EXPECT_EQ(bad_checksum.delta(), 1u);
  EXPECT_EQ(malformed.delta(), 1u);
}

// RFC 792 "Destination Unreachable Message" / RFC 1122 §3.2.2.1: port
// unreachable (code 3) quoting the internet header and the first 8 data bytes.
TEST(Icmp, PortUnreachableQuotesTheDatagram) {
  SimNetwork net;
  net.learn();
  CounterWatch sent_counter("icmp.port_unreachable_sent");
  Ipv4Fields fields;
  fields.identification = 0x7777;
  fields.time_to_live = 17;
  UdpFields udp_fields;
  udp_fields.destination_port = 9999;
  Frame datagram = ipv4(fields, udp(udp_fields, pattern(40)));
  net.inject(ethernet(our_mac, peer_mac, ether_type::ipv4, datagram));
  net.settle();
  auto replies = ipv4_packets(net.sent());
  ASSERT_EQ(replies.size(), 1u);
  const auto& reply = replies[0];
  EXPECT_EQ(reply.ethernet.destination, peer_mac);
  EXPECT_EQ(reply.header.source, our_address);
  EXPECT_EQ(reply.header.destination, peer_address);
  EXPECT_EQ(reply.header.protocol, ip_protocol::icmp);
  EXPECT_EQ(reference_checksum(reply.payload), 0);
  ASSERT_EQ(reply.payload.size(), 8u + 20 + 8);
  EXPECT_EQ(std::to_integer<int>(reply.payload[0]), IcmpHeader::destination_unreachable);
  EXPECT_EQ(std::to_integer<int>(reply.payload[1]), IcmpHeader::port_unreachable_code);
  EXPECT_EQ(load_be32(reply.payload.data() + 4), 0u); // unused
  Frame quoted(reply.payload.begin() + 8, reply.payload.end());
  EXPECT_EQ(quoted, Frame(datagram.begin(), datagram.begin() + 28));
  EXPECT_EQ(sent_counter.delta(), 1u);
}

TEST(Icmp, PortUnreachableForShortDatagramQuotesWhatThereIs) {
  SimNetwork net;
  net.learn();
  UdpFields udp_fields;
  udp_fields.destination_port = 9999;
  Frame datagram = ipv4(Ipv4Fields{}, udp(udp_fields, {}));
  net.inject(ethernet(our_mac, peer_mac, ether_type::ipv4, datagram));
  net.settle();
  auto replies = ipv4_packets(net.sent());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(Frame(replies[0].payload.begin() + 8, replies[0].payload.end()), datagram);
}

// RFC 1122 §3.2.2: no ICMP error about a datagram sent to a broadcast address.
TEST(Icmp, NoPortUnreachableForBroadcast) {
  SimNetwork net;
  net.learn();
  CounterWatch no_listener("udp.no_listener");
  for (auto destination : {Ipv4Address::broadcast(), directed_broadcast}) {
    Ipv4Fields fields;
    fields.destination = destination;
    UdpFields udp_fields;
    udp_fields.destination = destination;
    udp_fields.destination_port = 9999;
    net.inject(ipv4_frame(fields, udp(udp_fields, pattern(10)), MacAddress::broadcast()));
  }
  net.settle();
  EXPECT_TRUE(net.sent().empty());
  EXPECT_EQ(no_listener.delta(), 2u);
}

// RFC 1812 §4.3.2.8: ICMP errors are rate limited.
TEST(Icmp, RateLimitsErrors) {
  SimNetwork net;
  net.learn();
  CounterWatch limited("icmp.rate_limited");
  CounterWatch sent_counter("icmp.port_unreachable_sent");
  for (int i = 0; i < 150; ++i) net.inject(udp_frame(40000, 9999, pattern(4)));
  net.settle();
  auto first_second = ipv4_packets(net.sent()).size();
  EXPECT_EQ(first_second, 100u);
  EXPECT_EQ(limited.delta(), 50u);
  EXPECT_EQ(sent_counter.delta(), 100u);
  // A second later the budget is back.
  net.run_for(std::chrono::seconds(1));
  net.inject(udp_frame(40000, 9999, pattern(4)));
  net.settle();
  EXPECT_EQ(ipv4_packets(net.sent()).size(), 1u);
}

} // namespace
} // namespace morgana::net
