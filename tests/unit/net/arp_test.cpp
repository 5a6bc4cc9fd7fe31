#include "morgana/net/arp.h"

#include <gtest/gtest.h>

#include "frames.h"

namespace morgana::net {
namespace {

using namespace frames;

TEST(ArpPacket, ParsesEveryField) {
  Frame bytes = arp(arp_reply_fields(peer_mac, peer_address, our_mac, our_address));
  ASSERT_EQ(bytes.size(), ArpPacket::size);
  ByteReader reader(bytes);
  auto packet = ArpPacket::parse(reader);
  ASSERT_TRUE(packet.has_value());
  EXPECT_EQ(packet->operation, ArpPacket::reply);
  EXPECT_EQ(packet->sender_hardware, peer_mac);
  EXPECT_EQ(packet->sender_protocol, peer_address);
  EXPECT_EQ(packet->target_hardware, our_mac);
  EXPECT_EQ(packet->target_protocol, our_address);
  EXPECT_TRUE(reader.at_end());
}

TEST(ArpPacket, TruncatedAtEveryLength) {
  Frame bytes = arp(ArpFields{});
  for (std::size_t length = 0; length < ArpPacket::size; ++length) {
    ByteReader reader(Bytes(bytes).first(length));
    auto packet = ArpPacket::parse(reader);
    ASSERT_FALSE(packet.has_value()) << length;
    EXPECT_EQ(packet.error().code, Errc::truncated) << length;
  }
}

// RFC 826: only hardware type 1 (Ethernet), protocol type 0x0800, lengths 6 and 4 are ours.
TEST(ArpPacket, RejectsOtherHardwareAndProtocols) {
  auto expect_unsupported = [](const ArpFields& fields) {
    Frame bytes = arp(fields);
    ByteReader reader(bytes);
    auto packet = ArpPacket::parse(reader);
    ASSERT_FALSE(packet.has_value());
    EXPECT_EQ(packet.error().code, Errc::unsupported);
  };
  ArpFields fields;
  fields.hardware_type = 6; // IEEE 802
  expect_unsupported(fields);
  fields = {};
  fields.protocol_type = 0x86dd;
  expect_unsupported(fields);
  fields = {};
  fields.hardware_length = 8;
  expect_unsupported(fields);
  fields = {};
  fields.protocol_length = 16;
  expect_unsupported(fields);
}

TEST(ArpPacket, WritesWireOrderAndRoundTrips) {
  ArpPacket packet{ArpPacket::request, our_mac, our_address, MacAddress::zero(), peer_address};
  std::byte buffer[ArpPacket::size];
  ByteWriter writer(buffer);
  packet.write(writer);
  auto written = writer.finish();
  ASSERT_TRUE(written.has_value());
  ArpFields expected;
  expected.sender_hardware = our_mac;
  expected.sender_protocol = our_address;
  expected.target_protocol = peer_address;
  EXPECT_EQ(Frame(written->begin(), written->end()), arp(expected));
  ByteReader reader(*written);
  auto parsed = ArpPacket::parse(reader);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->target_protocol, peer_address);
}

// RFC 826 "Packet Reception": a request for our address gets a reply with our
// hardware address, sent to the requester, with sender and target swapped.
TEST(Arp, AnswersRequestForOurAddress) {
  SimNetwork net;
  CounterWatch replies("arp.replies_sent");
  net.inject(arp_frame(ArpFields{}));
  net.settle();
  auto sent = net.sent();
  ASSERT_EQ(sent.size(), 1u);
  auto frame = decode_ethernet(sent[0]);
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->ethernet.destination, peer_mac);
  EXPECT_EQ(frame->ethernet.source, our_mac);
  EXPECT_EQ(frame->ethernet.ether_type, ether_type::arp);
  Frame reply = arp(arp_reply_fields(our_mac, our_address, peer_mac, peer_address));
  EXPECT_TRUE(std::equal(reply.begin(), reply.end(), frame->payload.begin()));
  EXPECT_EQ(replies.delta(), 1u);
  // The requester was learned: RFC 826 adds the sender when the target is us.
  EXPECT_EQ(net.stack().arp().lookup(peer_address), peer_mac);
}

TEST(Arp, IgnoresRequestForAnotherAddress) {
  SimNetwork net;
  CounterWatch not_for_us("arp.not_for_us");
  ArpFields request;
  request.target_protocol = other_address;
  net.inject(arp_frame(request));
  net.settle();
  EXPECT_TRUE(net.sent().empty());
  EXPECT_EQ(not_for_us.delta(), 1u);
  // RFC 826: a sender we have no entry for is not added from a packet for someone else.
  EXPECT_FALSE(net.stack().arp().lookup(peer_address).has_value());
}

TEST(Arp, UnconfiguredStackAnswersNothing) {
  SimNetwork net(std::nullopt);
  CounterWatch not_for_us("arp.not_for_us");
  net.inject(arp_frame(ArpFields{}));
  net.settle();
  EXPECT_TRUE(net.sent().empty());
  EXPECT_EQ(not_for_us.delta(), 1u);
}

TEST(Arp, CountsMalformedAndUnknownOperations) {
  SimNetwork net;
  CounterWatch malformed("arp.malformed");
  CounterWatch unknown("arp.unknown_operation");
  Frame truncated = arp_frame(ArpFields{});
  truncated.resize(EthernetHeader::size + ArpPacket::size - 1);
  net.inject(truncated);
  ArpFields wrong_type;
  wrong_type.hardware_type = 6;
  net.inject(arp_frame(wrong_type));
  ArpFields rarp;
  rarp.operation = 3; // RFC 903 reverse request
  net.inject(arp_frame(rarp));
  net.settle();
  EXPECT_EQ(malformed.delta(), 2u);
  EXPECT_EQ(unknown.delta(), 1u);
  EXPECT_TRUE(net.sent().empty());
}

TEST(Arp, RejectsBroadcastSenders) {
  SimNetwork net;
  CounterWatch bad_sender("arp.bad_sender");
  ArpFields multicast_mac;
  multicast_mac.sender_hardware = MacAddress::broadcast();
  net.inject(ethernet(MacAddress::broadcast(), peer_mac, ether_type::arp, arp(multicast_mac)));
  ArpFields broadcast_ip;
  broadcast_ip.sender_protocol = Ipv4Address::broadcast();
  net.inject(arp_frame(broadcast_ip));
  net.settle();
  EXPECT_EQ(bad_sender.delta(), 2u);
  EXPECT_TRUE(net.sent().empty());
}

// RFC 5227 §2.4: another host claiming our address is a conflict, not a cache entry.
TEST(Arp, DetectsAddressConflict) {
  SimNetwork net;
  CounterWatch conflicts("arp.address_conflict");
  ArpFields claim;
  claim.sender_hardware = other_mac;
  claim.sender_protocol = our_address;
  claim.target_protocol = our_address;
  net.inject(arp_frame(claim));
  net.settle();
  EXPECT_EQ(conflicts.delta(), 1u);
  EXPECT_TRUE(net.sent().empty());
  EXPECT_FALSE(net.stack().arp().lookup(our_address).has_value());
}

// RFC 5227 §2.3: the announcement is a broadcast request with sender and target
// protocol address both ours and a zero target hardware address.
TEST(Arp, AnnouncesAddressOnSetConfig) {
  SimNetwork net(std::nullopt);
  CounterWatch requests("arp.requests_sent");
  net.stack().set_config(default_config());
  auto sent = net.sent();
  ASSERT_EQ(sent.size(), 1u);
  auto frame = decode_ethernet(sent[0]);
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->ethernet.destination, MacAddress::broadcast());
  auto packet = decode_arp(sent[0]);
  ASSERT_TRUE(packet.has_value());
  EXPECT_EQ(packet->operation, ArpPacket::request);
  EXPECT_EQ(packet->sender_hardware, our_mac);
  EXPECT_EQ(packet->sender_protocol, our_address);
  EXPECT_EQ(packet->target_hardware, MacAddress::zero());
  EXPECT_EQ(packet->target_protocol, our_address);
  EXPECT_EQ(requests.delta(), 0u);
}

TEST(Arp, RemovingTheAddressAnnouncesNothing) {
  SimNetwork net;
  net.stack().set_config(Ipv4Config{});
  EXPECT_TRUE(net.sent().empty());
}

// Sends one UDP datagram from port 5000 to `destination`.
Result<void> send_udp(SimNetwork& net, Ipv4Address destination, std::uint16_t port = 9, std::size_t length = 10) {
  auto socket = MUST(net.stack().udp().bind(5000));
  Frame payload = pattern(length);
  return socket->send_to({destination, port}, payload);
}

// RFC 826 / RFC 1122 §2.3.2.2: a packet for an unresolved neighbour waits while
// a broadcast request goes out, and leaves when the reply arrives.
TEST(Arp, QueuesUntilResolvedThenFlushes) {
  SimNetwork net;
  ASSERT_TRUE(send_udp(net, peer_address, 9).has_value());
  ASSERT_TRUE(send_udp(net, peer_address, 10).has_value());
  auto sent = net.sent();
  ASSERT_EQ(sent.size(), 1u);
  auto frame = decode_ethernet(sent[0]);
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->ethernet.destination, MacAddress::broadcast());
  auto request = decode_arp(sent[0]);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->operation, ArpPacket::request);
  EXPECT_EQ(request->sender_hardware, our_mac);
  EXPECT_EQ(request->sender_protocol, our_address);
  EXPECT_EQ(request->target_protocol, peer_address);

  ArpFields reply;
  reply.operation = ArpPacket::reply;
  reply.target_hardware = our_mac;
  net.inject(arp_frame(reply, our_mac));
  net.settle();
  auto flushed = ipv4_packets(net.sent());
  ASSERT_EQ(flushed.size(), 2u);
  for (const auto& packet : flushed) {
    EXPECT_EQ(packet.ethernet.destination, peer_mac);
    EXPECT_EQ(packet.header.destination, peer_address);
  }
  // In the order they were sent.
  EXPECT_EQ(load_be16(flushed[0].payload.data() + 2), 9);
  EXPECT_EQ(load_be16(flushed[1].payload.data() + 2), 10);
  EXPECT_EQ(net.stack().arp().lookup(peer_address), peer_mac);

  // Resolved: the next packet leaves at once.
  ASSERT_TRUE(send_udp(net, peer_address).has_value());
  auto direct = ipv4_packets(net.sent());
  ASSERT_EQ(direct.size(), 1u);
  EXPECT_EQ(direct[0].ethernet.destination, peer_mac);
}

TEST(Arp, BoundsTheQueuePerAddress) {
  SimNetwork net;
  CounterWatch dropped("arp.pending_dropped");
  for (std::size_t i = 0; i < Arp::max_pending_per_address; ++i) ASSERT_TRUE(send_udp(net, peer_address).has_value());
  auto ninth = send_udp(net, peer_address);
  ASSERT_FALSE(ninth.has_value());
  EXPECT_EQ(ninth.error().code, Errc::limit_reached);
  EXPECT_EQ(dropped.delta(), 1u);
  // One request for the whole queue.
  EXPECT_EQ(arp_packets(net.sent()).size(), 1u);
  // Another neighbour still has room.
  EXPECT_TRUE(send_udp(net, other_address).has_value());

  ArpFields reply;
  reply.operation = ArpPacket::reply;
  reply.target_hardware = our_mac;
  net.inject(arp_frame(reply, our_mac));
  net.settle();
  EXPECT_EQ(ipv4_packets(net.sent()).size(), Arp::max_pending_per_address);
}

TEST(Arp, BoundsTheQueueInTotal) {
  SimNetwork net;
  CounterWatch dropped("arp.pending_dropped");
  std::size_t queued = 0;
  for (std::uint8_t host = 10; queued < Arp::max_pending_total; ++host) {
    for (std::size_t i = 0; i < 4 && queued < Arp::max_pending_total; ++i, ++queued)
      ASSERT_TRUE(send_udp(net, Ipv4Address::from_octets(10, 0, 0, host)).has_value());
  }
  auto over = send_udp(net, Ipv4Address::from_octets(10, 0, 0, 200));
  ASSERT_FALSE(over.has_value());
  EXPECT_EQ(over.error().code, Errc::limit_reached);
  EXPECT_EQ(dropped.delta(), 1u);
}

// RFC 1122 §2.3.2.1: retransmit requests at a bounded rate and give up after a few.
TEST(Arp, RetriesThenDropsQueuedPackets) {
  SimNetwork net;
  CounterWatch unresolved("arp.unresolved");
  CounterWatch requests("arp.requests_sent");
  ASSERT_TRUE(send_udp(net, peer_address).has_value());
  ASSERT_TRUE(send_udp(net, peer_address).has_value());
  ASSERT_TRUE(send_udp(net, peer_address).has_value());
  net.run_for(std::chrono::seconds(10));
  auto sent = arp_packets(net.sent());
  ASSERT_EQ(sent.size(), static_cast<std::size_t>(Arp::max_requests));
  for (const auto& request : sent) {
    EXPECT_EQ(request.operation, ArpPacket::request);
    EXPECT_EQ(request.target_protocol, peer_address);
  }
  EXPECT_EQ(requests.delta(), static_cast<std::uint64_t>(Arp::max_requests));
  EXPECT_EQ(unresolved.delta(), 3u);
  EXPECT_FALSE(net.stack().arp().lookup(peer_address).has_value());

  // A late reply finds nothing queued; a new packet starts a new resolution.
  ArpFields reply;
  reply.operation = ArpPacket::reply;
  reply.target_hardware = our_mac;
  net.inject(arp_frame(reply, our_mac));
  net.settle();
  EXPECT_TRUE(ipv4_packets(net.sent()).empty());
}

TEST(Arp, RetriesAreSpacedByTheRetryInterval) {
  SimNetwork net;
  ASSERT_TRUE(send_udp(net, peer_address).has_value());
  EXPECT_EQ(arp_packets(net.sent()).size(), 1u);
  net.run_for(Arp::retry_interval / 2);
  EXPECT_TRUE(net.sent().empty());
  net.run_for(Arp::retry_interval * 2);
  EXPECT_GE(arp_packets(net.sent()).size(), 1u);
}

TEST(Arp, EntriesExpireAfterTheirLifetime) {
  SimNetwork net;
  net.learn();
  ASSERT_EQ(net.stack().arp().lookup(peer_address), peer_mac);
  net.run_for(Arp::entry_lifetime - std::chrono::seconds(3));
  EXPECT_EQ(net.stack().arp().lookup(peer_address), peer_mac);
  // Never used, so never refreshed: no unicast request, just expiry.
  net.run_for(std::chrono::seconds(5));
  EXPECT_FALSE(net.stack().arp().lookup(peer_address).has_value());
  EXPECT_TRUE(net.sent().empty());
}

// RFC 1122 §2.3.2.1: an entry in use is revalidated by a unicast request before it expires.
TEST(Arp, RefreshesUsedEntriesByUnicastRequest) {
  SimNetwork net;
  net.learn();
  ASSERT_TRUE(send_udp(net, peer_address).has_value());
  EXPECT_EQ(ipv4_packets(net.sent()).size(), 1u);

  net.run_for(Arp::entry_lifetime - Arp::refresh_before - std::chrono::seconds(3));
  EXPECT_TRUE(net.sent().empty());
  net.run_for(std::chrono::seconds(5));
  // One request per retry interval while the entry is near expiry, each unicast to the known MAC.
  auto sent = net.sent();
  ASSERT_GE(sent.size(), 1u);
  EXPECT_LE(sent.size(), 6u);
  for (const auto& each : sent) {
    auto frame = decode_ethernet(each);
    ASSERT_TRUE(frame.has_value());
    EXPECT_EQ(frame->ethernet.destination, peer_mac);
    auto request = decode_arp(each);
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(request->operation, ArpPacket::request);
    EXPECT_EQ(request->target_protocol, peer_address);
  }

  // The reply renews the entry for another lifetime.
  ArpFields reply;
  reply.operation = ArpPacket::reply;
  reply.target_hardware = our_mac;
  net.inject(arp_frame(reply, our_mac));
  net.settle();
  net.run_for(Arp::refresh_before + std::chrono::seconds(5));
  EXPECT_EQ(net.stack().arp().lookup(peer_address), peer_mac);
}

TEST(Arp, UnansweredRefreshLetsTheEntryExpire) {
  SimNetwork net;
  net.learn();
  ASSERT_TRUE(send_udp(net, peer_address).has_value());
  net.run_for(Arp::entry_lifetime + std::chrono::seconds(2));
  EXPECT_FALSE(net.stack().arp().lookup(peer_address).has_value());
  auto requests = arp_packets(net.sent());
  EXPECT_GE(requests.size(), 1u);
  // Then traffic starts a broadcast resolution again.
  ASSERT_TRUE(send_udp(net, peer_address).has_value());
  auto sent = net.sent();
  ASSERT_EQ(sent.size(), 1u);
  auto frame = decode_ethernet(sent[0]);
  ASSERT_TRUE(frame.has_value());
  EXPECT_EQ(frame->ethernet.destination, MacAddress::broadcast());
}

// RFC 826: a packet from a host we know updates its entry even when not addressed to us.
TEST(Arp, UpdatesKnownSenderFromPacketsForOthers) {
  SimNetwork net;
  net.learn();
  ArpFields moved;
  moved.sender_hardware = other_mac;
  moved.target_protocol = other_address;
  net.inject(arp_frame(moved));
  net.settle();
  EXPECT_EQ(net.stack().arp().lookup(peer_address), other_mac);
}

} // namespace
} // namespace morgana::net
