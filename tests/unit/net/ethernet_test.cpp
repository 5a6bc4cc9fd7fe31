#include "morgana/net/ethernet.h"

#include <gtest/gtest.h>

#include "frames.h"

namespace morgana::net {
namespace {

using namespace frames;

TEST(EthernetHeader, ParsesEveryField) {
  Frame frame = ethernet(our_mac, peer_mac, ether_type::arp, pattern(4));
  ByteReader reader(frame);
  auto header = EthernetHeader::parse(reader);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->destination, our_mac);
  EXPECT_EQ(header->source, peer_mac);
  EXPECT_EQ(header->ether_type, ether_type::arp);
  EXPECT_EQ(reader.position(), EthernetHeader::size);
}

TEST(EthernetHeader, TruncatedAtEveryLength) {
  Frame frame = ethernet(our_mac, peer_mac, ether_type::ipv4, {});
  for (std::size_t length = 0; length < EthernetHeader::size; ++length) {
    ByteReader reader(Bytes(frame).first(length));
    auto header = EthernetHeader::parse(reader);
    ASSERT_FALSE(header.has_value()) << length;
    EXPECT_EQ(header.error().code, Errc::truncated) << length;
  }
}

// IEEE 802.3 §3.2.6: values up to 1500 are a length, 0x0600 and above an EtherType.
TEST(EthernetHeader, RejectsIeee8023LengthFrames) {
  for (std::uint16_t length_or_type : {0x0000, 0x002e, 0x05dc, 0x05ff}) {
    Frame frame = ethernet(our_mac, peer_mac, length_or_type, pattern(46));
    ByteReader reader(frame);
    auto header = EthernetHeader::parse(reader);
    ASSERT_FALSE(header.has_value()) << length_or_type;
    EXPECT_EQ(header.error().code, Errc::unsupported);
  }
  Frame frame = ethernet(our_mac, peer_mac, 0x0600, {});
  ByteReader reader(frame);
  EXPECT_TRUE(EthernetHeader::parse(reader).has_value());
}

TEST(EthernetHeader, WritesWireOrder) {
  std::byte buffer[EthernetHeader::size];
  ByteWriter writer(buffer);
  EthernetHeader{peer_mac, our_mac, ether_type::ipv4}.write(writer);
  auto written = writer.finish();
  ASSERT_TRUE(written.has_value());
  Frame expected = ethernet(peer_mac, our_mac, ether_type::ipv4, {});
  EXPECT_EQ(Frame(written->begin(), written->end()), expected);
}

TEST(EthernetHeader, WriteReportsOverflow) {
  std::byte buffer[EthernetHeader::size - 1];
  ByteWriter writer(buffer);
  EthernetHeader{peer_mac, our_mac, ether_type::ipv4}.write(writer);
  EXPECT_FALSE(writer.finish().has_value());
}

TEST(Ethernet, DropsFramesForAnotherMac) {
  SimNetwork net;
  CounterWatch not_for_us("ethernet.not_for_us");
  CounterWatch arp_not_for_us("arp.not_for_us");
  net.inject(arp_frame(ArpFields{}, other_mac));
  net.settle();
  EXPECT_EQ(not_for_us.delta(), 1u);
  EXPECT_EQ(arp_not_for_us.delta(), 0u);
  EXPECT_TRUE(net.sent().empty());
}

TEST(Ethernet, DropsMulticastFrames) {
  SimNetwork net;
  CounterWatch not_for_us("ethernet.not_for_us");
  net.inject(arp_frame(ArpFields{}, MacAddress{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}}));
  net.settle();
  EXPECT_EQ(not_for_us.delta(), 1u);
  EXPECT_TRUE(net.sent().empty());
}

TEST(Ethernet, AcceptsBroadcastAndOurMac) {
  SimNetwork net;
  CounterWatch replies("arp.replies_sent");
  net.inject(arp_frame(ArpFields{}, MacAddress::broadcast()));
  net.inject(arp_frame(ArpFields{}, our_mac));
  net.settle();
  EXPECT_EQ(replies.delta(), 2u);
  EXPECT_EQ(net.sent().size(), 2u);
}

TEST(Ethernet, CountsShortAnd8023Frames) {
  SimNetwork net;
  CounterWatch malformed("ethernet.malformed");
  Frame short_frame = ethernet(our_mac, peer_mac, ether_type::ipv4, {});
  short_frame.resize(13);
  net.inject(short_frame);
  net.inject(ethernet(our_mac, peer_mac, 46, pattern(46)));
  net.settle();
  EXPECT_EQ(malformed.delta(), 2u);
  EXPECT_TRUE(net.sent().empty());
}

TEST(Ethernet, CountsUnknownEtherType) {
  SimNetwork net;
  CounterWatch unknown("ethernet.unknown_type");
  net.inject(ethernet(our_mac, peer_mac, 0x86dd, pattern(60)));
  net.settle();
  EXPECT_EQ(unknown.delta(), 1u);
}

TEST(Ethernet, DropsFramesAboveTheMtu) {
  SimNetwork net;
  CounterWatch oversized("ethernet.oversized");
  CounterWatch received("ipv4.received");
  // The receive buffer allows the MTU plus header and 4 bytes (a VLAN tag or FCS).
  net.inject(ethernet(our_mac, peer_mac, ether_type::ipv4, pattern(1500 + 4)));
  net.inject(ethernet(our_mac, peer_mac, ether_type::ipv4, pattern(1500 + 5)));
  net.inject(ethernet(our_mac, peer_mac, ether_type::ipv4, pattern(9000)));
  net.settle();
  EXPECT_EQ(oversized.delta(), 2u);
  EXPECT_EQ(received.delta(), 1u);
}

// IEEE 802.3 §4.2.3.3: frames below the minimum size are padded (60 bytes without FCS).
TEST(Ethernet, PadsShortFramesTo60Bytes) {
  SimNetwork net;
  net.inject(arp_frame(ArpFields{}));
  net.settle();
  auto sent = net.sent();
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_EQ(sent[0].size(), EthernetHeader::minimum_frame);
  for (std::size_t i = EthernetHeader::size + ArpPacket::size; i < sent[0].size(); ++i)
    EXPECT_EQ(sent[0][i], std::byte{0}) << i;
  auto header = decode_ethernet(sent[0]);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->ethernet.source, our_mac);
  EXPECT_EQ(header->ethernet.destination, peer_mac);
  EXPECT_EQ(header->ethernet.ether_type, ether_type::arp);
}

} // namespace
} // namespace morgana::net
