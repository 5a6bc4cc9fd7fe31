// Offloads through the stack: checksums left to the device (TCP, UDP), TCP
// segmentation offload, and frames the device checked or coalesced (GRO).

#include <gtest/gtest.h>

#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using frames::CounterWatch;
using std::chrono::seconds;

constexpr NetOffloads checksum_only{.tx_checksum = true, .rx_checksum = true};
constexpr NetOffloads all_offloads{true, true, true, true};
// Ethernet and IPv4 headers without options: where the transport header starts.
constexpr std::uint16_t transport_start = 14 + 20;

// Moves `bytes` from the stream to the peer, the peer acknowledging each
// round's data, so the congestion window opens; returns what arrived.
Frame transfer(TcpPeer& peer, TcpStream& stream, std::size_t bytes) {
  auto data = frames::pattern(bytes, 5);
  auto writing = peer.start(stream.write(data, MonotonicClock::now() + seconds(60)));
  Frame received = peer.receive_acking(data.size(), 400);
  EXPECT_EQ(received, data);
  return received;
}

// Opens the window wide enough for 45 full segments at once, then writes
// that much and returns what the stack sent for it.
std::vector<SentSegment> send_45_segments(TcpPeer& peer, TcpStream& stream) {
  transfer(peer, stream, 1'500'000);
  EXPECT_GE(stream.stats().cwnd, 45u * stream.stats().send_mss);
  auto data = frames::pattern(45 * stream.stats().send_mss, 9);
  EXPECT_TRUE(peer.write(stream, data));
  auto sent = with_data(peer.take_noted());
  Frame joined;
  for (const auto& segment : sent) joined.insert(joined.end(), segment.payload.begin(), segment.payload.end());
  EXPECT_EQ(joined, data);
  return sent;
}

// With TSO the 45 segments' worth goes as one frame the device cuts at the
// send MSS, its checksum left partial; TcpPeer::take completes the checksum as
// the device would (complete_checksum) and fails the test unless it is right.
TEST(TcpOffload, SendsOneTsoFrameForManySegments) {
  TcpPeer peer(1500, all_offloads);
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  CounterWatch tso_frames("ethernet.tso_frames_sent");
  CounterWatch tso_segments("tcp.tso_segments_sent");
  auto sent = send_45_segments(peer, *stream);
  ASSERT_EQ(sent.size(), 1u);
  auto mss = stream->stats().send_mss;
  EXPECT_EQ(mss, 1448u); // 1460 less the timestamps option
  EXPECT_EQ(sent[0].payload.size(), 45u * mss);
  EXPECT_EQ(sent[0].offload.segment_size, mss);
  EXPECT_TRUE(sent[0].offload.checksum_partial);
  EXPECT_EQ(sent[0].offload.checksum_start, transport_start);
  EXPECT_EQ(sent[0].offload.checksum_offset, TcpHeader::checksum_offset);
  EXPECT_GT(tso_frames.delta(), 1u); // the warm-up sent some too
  EXPECT_GE(tso_segments.delta(), 45u);
  EXPECT_EQ(stream->stats().retransmits, 0u);
}

// Without TSO the same data goes in MSS-sized segments; their checksums are
// still the device's.
TEST(TcpOffload, SendsMssSegmentsWithoutTso) {
  TcpPeer peer(1500, checksum_only);
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  CounterWatch tso_frames("ethernet.tso_frames_sent");
  auto sent = send_45_segments(peer, *stream);
  ASSERT_EQ(sent.size(), 45u);
  for (const auto& segment : sent) {
    EXPECT_EQ(segment.payload.size(), 1448u);
    EXPECT_EQ(segment.offload.segment_size, 0u);
    EXPECT_TRUE(segment.offload.checksum_partial);
  }
  EXPECT_EQ(tso_frames.delta(), 0u);
}

// Without any offload, checksums are summed in software as before.
TEST(TcpOffload, SumsChecksumsWithoutOffloads) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  ASSERT_TRUE(peer.write(*stream, frames::pattern(3000)));
  auto sent = with_data(peer.take_noted());
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& segment : sent) {
    EXPECT_FALSE(segment.offload.checksum_partial);
    EXPECT_EQ(segment.offload.segment_size, 0u);
  }
}

// Nagle holds a short tail after a TSO frame, as after single segments.
TEST(TcpOffload, TsoFrameLeavesTheShortTailToNagle) {
  TcpPeer peer(1500, all_offloads);
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  ASSERT_TRUE(peer.write(*stream, frames::pattern(3000)));
  auto sent = with_data(peer.take_noted());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].payload.size(), 2896u);
  EXPECT_EQ(sent[0].offload.segment_size, 1448u);
  EXPECT_FALSE(sent[0].has(tcp_flag::psh));
  peer.send_now(tcp_flag::ack);
  auto tail = with_data(peer.take_noted());
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].payload.size(), 104u);
  EXPECT_EQ(tail[0].offload.segment_size, 0u);
  EXPECT_TRUE(tail[0].has(tcp_flag::psh));
}

// A 60 KiB frame coalesced by the device (GRO), its checksum verified by it,
// is taken whole and acknowledged at once: it counts as 42 full segments.
TEST(TcpOffload, AcceptsAndAcknowledgesCoalescedSegment) {
  TcpPeer peer(1500, all_offloads);
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  CounterWatch gso_frames("ethernet.gso_frames_received");
  CounterWatch offloaded("ethernet.checksum_offloaded");
  auto data = frames::pattern(60 * 1024, 7);
  TcpHeader header = peer.make(tcp_flag::ack | tcp_flag::psh);
  peer.inject(header, data, TcpPeer::peer_address, FrameOffload{.checksum_valid = true, .segment_size = 1460});
  peer.snd_nxt += static_cast<std::uint32_t>(data.size());
  peer.settle();
  auto answer = peer.take_noted();
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].ack(), peer.snd_nxt);
  EXPECT_EQ(peer.read_now(*stream), data);
  EXPECT_EQ(gso_frames.delta(), 1u);
  EXPECT_EQ(offloaded.delta(), 1u);
}

// The device vouches only for frames it marks: with rx offloads on, a frame
// with a bad checksum and neither flag is still dropped.
TEST(TcpOffload, DropsBadChecksumWithoutTheDevicesWord) {
  TcpPeer peer(1500, all_offloads);
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  CounterWatch bad_checksum("tcp.bad_checksum");
  TcpHeader header = peer.make(tcp_flag::ack | tcp_flag::psh);
  header.checksum = 0;
  auto data = frames::pattern(100, 2);
  frames::Ipv4Fields ip;
  ip.protocol = ip_protocol::tcp;
  auto segment = frames::tcp_segment(header, data, TcpPeer::peer_address, TcpPeer::our_address);
  segment[TcpHeader::checksum_offset] ^= std::byte{0x5a};
  sim::inject(0, frames::ipv4_frame(ip, segment));
  peer.settle();
  EXPECT_EQ(bad_checksum.delta(), 1u);
  EXPECT_TRUE(peer.read_now(*stream).empty());
  EXPECT_TRUE(peer.take().empty());
}

// With gro4 the receive buffer holds 64 KiB, but only a frame the device says
// it coalesced may use it: a plain frame above the MTU is still dropped.
TEST(EthernetOffload, OnlyCoalescedFramesMayExceedTheMtu) {
  frames::SimNetwork net(frames::default_config(), 1500, all_offloads);
  CounterWatch oversized("ethernet.oversized");
  CounterWatch received("ipv4.received");
  auto frame = frames::ethernet(frames::our_mac, frames::peer_mac, ether_type::ipv4, frames::pattern(9000));
  net.inject(frame);
  net.inject(frame, FrameOffload{.segment_size = 1460});
  net.settle();
  EXPECT_EQ(oversized.delta(), 1u);
  EXPECT_EQ(received.delta(), 1u);
}

// UDP: the checksum is left partial when the datagram fits one frame, summed
// here when IPv4 fragments it (a device sees only the fragments).
TEST(UdpOffload, LeavesTheChecksumPartial) {
  frames::SimNetwork net(frames::default_config(), 1500, checksum_only);
  net.learn();
  auto socket = MUST(net.stack().udp().bind(5000));
  CounterWatch partial("ethernet.checksum_offload_sent");
  auto payload = frames::pattern(333, 1);
  ASSERT_TRUE(socket->send_to({frames::peer_address, 7}, payload).has_value());
  auto sent = net.sent_with_offloads();
  ASSERT_EQ(sent.size(), 1u);
  auto& [frame, offload] = sent[0];
  ASSERT_TRUE(offload.checksum_partial);
  EXPECT_EQ(offload.checksum_start, transport_start);
  EXPECT_EQ(offload.checksum_offset, UdpHeader::checksum_offset);
  // The field holds the folded pseudo-header sum.
  auto datagram_length = 8 + payload.size();
  auto pseudo = frames::udp_pseudo_header_sum(frames::our_address, frames::peer_address, datagram_length);
  while (pseudo >> 16) pseudo = (pseudo & 0xffff) + (pseudo >> 16);
  EXPECT_EQ(load_be16(frame.data() + transport_start + 6), pseudo);
  frames::complete_checksum(frame, offload);
  auto packet = frames::decode_ipv4(frame);
  ASSERT_TRUE(packet);
  EXPECT_EQ(
      frames::reference_checksum(
          packet->payload, frames::udp_pseudo_header_sum(frames::our_address, frames::peer_address, datagram_length)),
      0);
  EXPECT_EQ(partial.delta(), 1u);

  ASSERT_TRUE(socket->send_to({frames::peer_address, 7}, frames::pattern(4000, 2)).has_value());
  auto fragments = net.sent_with_offloads();
  ASSERT_EQ(fragments.size(), 3u);
  for (const auto& fragment : fragments) EXPECT_FALSE(fragment.second.checksum_partial);
}

// RFC 3465 §2.2 limits slow start to 2 SMSS per ACK; with TSO the receiver
// acknowledges a whole frame at once, so the limit is two such frames.
TEST(NewRenoOffload, SlowStartCountsStretchAcksOfTsoFrames) {
  const SequenceNumber first{1001};
  NewReno plain{{.smss = 1000, .iss = SequenceNumber(1000)}};
  NewReno tso{{.smss = 1000, .iss = SequenceNumber(1000), .largest_send = 45'000}};
  EXPECT_EQ(plain.on_ack(first + 10'000, first + 10'000, 10'000), CongestionAction::none);
  EXPECT_EQ(tso.on_ack(first + 10'000, first + 10'000, 10'000), CongestionAction::none);
  EXPECT_EQ(plain.cwnd(), 12'000u); // 10 SMSS + 2 SMSS
  EXPECT_EQ(tso.cwnd(), 20'000u);   // 10 SMSS + the 10000 acknowledged
}

} // namespace
} // namespace morgana::net
