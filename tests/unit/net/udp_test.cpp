#include "morgana/net/udp.h"

#include <gtest/gtest.h>

#include <set>

#include "frames.h"

namespace morgana::net {
namespace {

using namespace frames;

Result<UdpHeader> parse(Bytes bytes) {
  ByteReader reader(bytes);
  return UdpHeader::parse(reader);
}

// RFC 768 "Format": source port, destination port, length, checksum.
TEST(UdpHeader, ParsesEveryField) {
  UdpFields fields;
  fields.source_port = 0xabcd;
  fields.destination_port = 53;
  Frame bytes = udp(fields, pattern(11));
  ByteReader reader(bytes);
  auto header = UdpHeader::parse(reader);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->source_port, 0xabcd);
  EXPECT_EQ(header->destination_port, 53);
  EXPECT_EQ(header->length, 19);
  EXPECT_EQ(header->checksum, load_be16(bytes.data() + 6));
  EXPECT_EQ(reader.position(), UdpHeader::size);
}

TEST(UdpHeader, TruncatedAtEveryLength) {
  Frame bytes = udp(UdpFields{}, pattern(5));
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    auto header = parse(Bytes(bytes).first(length));
    ASSERT_FALSE(header.has_value()) << length;
    EXPECT_EQ(header.error().code, Errc::truncated) << length;
  }
  EXPECT_TRUE(parse(bytes).has_value());
}

TEST(UdpHeader, RejectsLengthBelowHeader) {
  for (std::uint16_t length = 0; length < 8; ++length) {
    auto header = parse(udp(UdpFields{.length = length}, pattern(4)));
    ASSERT_FALSE(header.has_value()) << length;
    EXPECT_EQ(header.error().code, Errc::malformed) << length;
  }
  EXPECT_TRUE(parse(udp(UdpFields{.length = 8}, pattern(4))).has_value());
}

TEST(UdpHeader, RejectsLengthBeyondTheData) {
  auto header = parse(udp(UdpFields{.length = 13}, pattern(4)));
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error().code, Errc::truncated);
}

TEST(UdpHeader, WritesWireOrder) {
  std::byte buffer[UdpHeader::size];
  ByteWriter writer(buffer);
  UdpHeader{1234, 5678, 100, 0xfedc}.write(writer);
  ASSERT_TRUE(writer.finish().has_value());
  EXPECT_EQ(to_frame(buffer), Builder().u16(1234).u16(5678).u16(100).u16(0xfedc).take());
}

// RFC 768 "Fields": the checksum covers a pseudo-header, the header and the data, padded to even length.
TEST(UdpChecksum, MatchesReference) {
  for (std::size_t length : {0u, 1u, 2u, 3u, 17u, 1472u, 4001u}) {
    Frame datagram = udp(UdpFields{.checksum = 0}, pattern(length, 3));
    auto expected = reference_checksum(datagram, udp_pseudo_header_sum(our_address, remote_address, datagram.size()));
    EXPECT_EQ(udp_checksum(our_address, remote_address, datagram), expected) << length;
  }
}

TEST(Udp, BindsAndRefusesPortsInUse) {
  SimNetwork net;
  auto first = net.stack().udp().bind(7);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ((*first)->local_port(), 7);
  auto second = net.stack().udp().bind(7);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::in_use);
  // Closing releases the port.
  first->reset();
  EXPECT_TRUE(net.stack().udp().bind(7).has_value());
}

// RFC 6335 §6: the dynamic ports are 49152-65535.
TEST(Udp, PicksDistinctEphemeralPorts) {
  SimNetwork net;
  auto taken = MUST(net.stack().udp().bind(49153));
  std::vector<std::unique_ptr<UdpSocket>> sockets;
  std::set<std::uint16_t> ports;
  for (int i = 0; i < 20; ++i) {
    auto socket = MUST(net.stack().udp().bind(0));
    EXPECT_GE(socket->local_port(), 49152);
    EXPECT_NE(socket->local_port(), 49153);
    ports.insert(socket->local_port());
    sockets.push_back(std::move(socket));
  }
  EXPECT_EQ(ports.size(), 20u);
}

// RFC 6056 §3.3.1: the search starts at a random port.
TEST(Udp, EphemeralPortsAreNotSequential) {
  SimNetwork net;
  std::vector<std::unique_ptr<UdpSocket>> sockets;
  int sequential = 0;
  for (int i = 0; i < 10; ++i) {
    sockets.push_back(MUST(net.stack().udp().bind(0)));
    if (i > 0 && sockets[i]->local_port() == sockets[i - 1]->local_port() + 1) ++sequential;
  }
  EXPECT_LT(sequential, 9);
}

// Without entropy the search still finds a free port, skipping bound ones.
TEST(Udp, EphemeralPortsWithoutEntropySkipBoundOnes) {
  SimNetwork net;
  sim::set_entropy_available(false);
  auto first = MUST(net.stack().udp().bind(0));
  auto second = MUST(net.stack().udp().bind(0));
  EXPECT_GE(first->local_port(), 49152);
  EXPECT_GE(second->local_port(), 49152);
  EXPECT_NE(first->local_port(), second->local_port());
}

TEST(Udp, GeneratesChecksum) {
  SimNetwork net;
  net.learn();
  auto socket = MUST(net.stack().udp().bind(5000));
  for (std::size_t length : {0u, 1u, 2u, 333u, 1472u}) {
    Frame payload = pattern(length, 1);
    ASSERT_TRUE(socket->send_to({peer_address, 7}, payload).has_value());
    auto sent = ipv4_packets(net.sent());
    ASSERT_EQ(sent.size(), 1u);
    const Frame& datagram = sent[0].payload;
    ASSERT_EQ(datagram.size(), 8 + length);
    EXPECT_EQ(load_be16(datagram.data()), 5000);
    EXPECT_EQ(load_be16(datagram.data() + 2), 7);
    EXPECT_EQ(load_be16(datagram.data() + 4), 8 + length);
    EXPECT_NE(load_be16(datagram.data() + 6), 0);
    EXPECT_EQ(reference_checksum(datagram, udp_pseudo_header_sum(our_address, peer_address, datagram.size())), 0)
        << length;
    EXPECT_EQ(Frame(datagram.begin() + 8, datagram.end()), payload);
  }
}

// RFC 768: a computed checksum of zero is transmitted as all ones.
TEST(Udp, SendsComputedZeroChecksumAsAllOnes) {
  SimNetwork net;
  net.learn();
  auto socket = MUST(net.stack().udp().bind(5000));
  // Choose the last payload word so that the whole sum is 0xffff.
  Frame payload = pattern(10);
  payload[8] = payload[9] = std::byte{0};
  Frame probe =
      udp(UdpFields{.source_port = 5000, .checksum = 0, .source = our_address, .destination = peer_address}, payload);
  std::uint16_t fill = reference_checksum(probe, udp_pseudo_header_sum(our_address, peer_address, probe.size()));
  store_be16(payload.data() + 8, fill);
  ASSERT_TRUE(socket->send_to({peer_address, 7}, payload).has_value());
  auto sent = ipv4_packets(net.sent());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(load_be16(sent[0].payload.data() + 6), 0xffff);
}

TEST(Udp, RefusesPayloadsAbove65507Bytes) {
  SimNetwork net;
  net.learn();
  auto socket = MUST(net.stack().udp().bind(5000));
  auto result = socket->send_to({peer_address, 7}, pattern(65508));
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, Errc::no_space);
  EXPECT_TRUE(net.sent().empty());
  ASSERT_TRUE(socket->send_to({peer_address, 7}, pattern(65507)).has_value());
  auto fragments = ipv4_packets(net.sent());
  std::size_t total = 0;
  for (const auto& fragment : fragments) total += fragment.payload.size();
  EXPECT_EQ(total, 65515u);
}

TEST(Udp, DropsBadChecksum) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  CounterWatch bad_checksum("udp.bad_checksum");
  Frame datagram = udp(UdpFields{}, pattern(20));
  datagram[10] ^= std::byte{0x40};
  net.inject(ipv4_frame(Ipv4Fields{}, datagram));
  // The pseudo-header counts too: right bytes, wrong destination address in the sum.
  net.inject(ipv4_frame(Ipv4Fields{}, udp(UdpFields{.destination = other_address}, pattern(20))));
  auto received = receive(*socket, std::chrono::seconds(1));
  ASSERT_FALSE(received.has_value());
  EXPECT_EQ(received.error().code, Errc::timed_out);
  EXPECT_EQ(bad_checksum.delta(), 2u);
}

// RFC 768: an all-zero checksum means the sender computed none.
TEST(Udp, AcceptsZeroChecksum) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  Frame payload = pattern(20);
  net.inject(ipv4_frame(Ipv4Fields{}, udp(UdpFields{.checksum = 0}, payload)));
  auto datagram = receive(*socket);
  ASSERT_TRUE(datagram.has_value());
  EXPECT_EQ(to_frame(datagram->payload.data()), payload);
}

TEST(Udp, AcceptsAllOnesChecksum) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  // As in SendsComputedZeroChecksumAsAllOnes, from the peer's side.
  Frame payload = pattern(10);
  payload[8] = payload[9] = std::byte{0};
  Frame probe = udp(UdpFields{.checksum = 0}, payload);
  store_be16(payload.data() + 8,
             reference_checksum(probe, udp_pseudo_header_sum(peer_address, our_address, probe.size())));
  Frame datagram = udp(UdpFields{}, payload);
  ASSERT_EQ(load_be16(datagram.data() + 6), 0xffff);
  net.inject(ipv4_frame(Ipv4Fields{}, datagram));
  EXPECT_TRUE(receive(*socket).has_value());
}

TEST(Udp, CountsBadLengths) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  CounterWatch malformed("udp.malformed");
  CounterWatch truncated("udp.truncated");
  net.inject(ipv4_frame(Ipv4Fields{}, udp(UdpFields{.length = 7, .checksum = 0}, pattern(8))));
  net.inject(ipv4_frame(Ipv4Fields{}, udp(UdpFields{.length = 30, .checksum = 0}, pattern(8))));
  net.inject(ipv4_frame(Ipv4Fields{}, Bytes(udp(UdpFields{}, {})).first(7)));
  net.settle();
  EXPECT_EQ(malformed.delta(), 1u);
  EXPECT_EQ(truncated.delta(), 2u);
  EXPECT_TRUE(net.sent().empty());
}

// RFC 768: the length field, not the IP payload, bounds the datagram.
TEST(Udp, TrimsToTheLengthField) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  Frame payload = pattern(10);
  Frame datagram = udp(UdpFields{}, payload);
  datagram.insert(datagram.end(), 6, std::byte{0xee});
  net.inject(ipv4_frame(Ipv4Fields{}, datagram));
  auto received = receive(*socket);
  ASSERT_TRUE(received.has_value());
  EXPECT_EQ(to_frame(received->payload.data()), payload);
}

TEST(Udp, ReportsSourceAndDestination) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  net.inject(udp_frame(12345, 7, pattern(3)));
  auto datagram = receive(*socket);
  ASSERT_TRUE(datagram.has_value());
  EXPECT_EQ(datagram->source, (Endpoint{peer_address, 12345}));
  EXPECT_EQ(datagram->destination, our_address);
}

TEST(Udp, ReceiveTimesOutAtTheDeadline) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  auto start = MonotonicClock::now();
  auto datagram = loop().run(socket->receive_from(start + std::chrono::seconds(3)));
  ASSERT_FALSE(datagram.has_value());
  EXPECT_EQ(datagram.error().code, Errc::timed_out);
  EXPECT_GE(MonotonicClock::now() - start, std::chrono::seconds(3));
  // A deadline already past fails at once.
  auto late = loop().run(socket->receive_from(start));
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code, Errc::timed_out);
}

TEST(Udp, BoundsTheReceiveQueue) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  CounterWatch queue_full("udp.queue_full");
  for (std::size_t i = 0; i < UdpSocket::max_queued + 2; ++i)
    net.inject(udp_frame(static_cast<std::uint16_t>(1000 + i), 7, pattern(4)));
  net.settle();
  EXPECT_EQ(queue_full.delta(), 2u);
  for (std::size_t i = 0; i < UdpSocket::max_queued; ++i) {
    auto datagram = receive(*socket, std::chrono::seconds(0));
    ASSERT_TRUE(datagram.has_value()) << i;
    EXPECT_EQ(datagram->source.port, 1000 + i);
  }
  auto none = receive(*socket, std::chrono::seconds(1));
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, Errc::timed_out);
}

TEST(Udp, CountsDatagramsForClosedPorts) {
  SimNetwork net;
  CounterWatch no_listener("udp.no_listener");
  net.inject(udp_frame(40000, 9, pattern(4)));
  net.settle();
  EXPECT_EQ(no_listener.delta(), 1u);
}

Task<void> receive_into(UdpSocket& socket, std::optional<Result<Datagram>>& out) {
  out.emplace(co_await socket.receive_from());
}

TEST(Udp, ClosingWakesWaitingReceiver) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  std::optional<Result<Datagram>> outcome;
  loop().spawn(receive_into(*socket, outcome));
  net.settle();
  ASSERT_FALSE(outcome.has_value());
  socket.reset();
  net.settle();
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(outcome->has_value());
  EXPECT_EQ(outcome->error().code, Errc::closed);
  EXPECT_EQ(loop().spawned_count(), 0u);
  // The port is free again, and a datagram for it is not delivered anywhere.
  CounterWatch no_listener("udp.no_listener");
  net.inject(udp_frame(40000, 7, pattern(4)));
  net.settle();
  EXPECT_EQ(no_listener.delta(), 1u);
}

Task<void> close_on_device_activity(std::unique_ptr<UdpSocket>& socket) {
  (void)co_await loop().device_activity().wait();
  socket.reset();
}

// A datagram wakes the receiver and, in the same turn, before the receiver
// runs, another coroutine closes the socket: the receiver sees Errc::closed
// rather than resuming into the freed socket (ASan would catch that).
TEST(Udp, ClosingAfterADatagramWokeTheReceiver) {
  SimNetwork net;
  auto socket = MUST(net.stack().udp().bind(7));
  std::optional<Result<Datagram>> outcome;
  loop().spawn(receive_into(*socket, outcome));
  net.settle();
  // Waits on device activity behind the receive loop, so it runs right after
  // the loop has handled the datagram and woken the receiver.
  loop().spawn(close_on_device_activity(socket));
  net.inject(udp_frame(40000, 7, pattern(4)));
  net.settle();
  EXPECT_FALSE(socket);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(outcome->has_value());
  EXPECT_EQ(outcome->error().code, Errc::closed);
}

} // namespace
} // namespace morgana::net
