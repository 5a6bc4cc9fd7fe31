// Data transfer: segmentation, acceptability, reassembly with SACK, windows and wrap-around.

#include <gtest/gtest.h>

#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Injects `data` at `offset` past `base` without moving the peer's SND.NXT.
void send_at(TcpPeer& peer, SequenceNumber base, std::uint32_t offset, Bytes data) {
  TcpHeader header = peer.make(tcp_flag::ack);
  header.sequence = base + offset;
  peer.inject(header, data);
  peer.settle();
}

Bytes slice(const Frame& data, std::size_t offset, std::size_t length) { return Bytes(data).subspan(offset, length); }

// RFC 9293 §3.8.6.2.1 and §3.7.4: a write is cut into MSS-sized segments; Nagle holds the
// short tail until the peer acknowledges; PSH marks the last.
TEST(TcpData, WriteIsSegmentedByMss) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto data = frames::pattern(3000);
  ASSERT_TRUE(peer.write(*stream, data));
  auto sent = peer.take_noted();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].payload.size(), 1448u);
  EXPECT_EQ(sent[1].payload.size(), 1448u);
  EXPECT_EQ(sent[1].seq(), sent[0].end());
  EXPECT_FALSE(sent[0].has(tcp_flag::psh));
  peer.send_now(tcp_flag::ack);
  auto tail = peer.take_noted();
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].payload.size(), 104u);
  EXPECT_EQ(tail[0].seq(), sent[1].end());
  EXPECT_TRUE(tail[0].has(tcp_flag::psh));
  sent.push_back(tail[0]);
  Frame joined;
  for (const auto& segment : sent) joined.insert(joined.end(), segment.payload.begin(), segment.payload.end());
  EXPECT_EQ(joined, data);
  peer.send_now(tcp_flag::ack);
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(stream->stats().bytes_sent, 3000u);
  EXPECT_EQ(stream->stats().retransmits, 0u);
}

// A transfer larger than the initial window, clocked by the peer's ACKs (RFC 5681 §3.1).
TEST(TcpData, LargeTransferIsClockedByAcks) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto data = frames::pattern(200'000, 3);
  auto writing = peer.start(stream->write(data, MonotonicClock::now() + seconds(30)));
  Frame received = peer.receive_acking(data.size(), 200);
  ASSERT_EQ(received.size(), data.size());
  EXPECT_EQ(received, data);
  ASSERT_TRUE(writing->has_value());
  EXPECT_TRUE(writing->value().has_value());
  EXPECT_EQ(stream->stats().retransmits, 0u);
}

// Backpressure: a write larger than the send buffer waits for ACKs to make room.
TEST(TcpData, WriteWaitsForSendBufferSpace) {
  TcpPeer peer;
  TcpListenOptions options;
  options.connection.send_buffer = 4096;
  auto stream = peer.establish(PeerOptions{}, options);
  ASSERT_TRUE(stream);
  auto data = frames::pattern(20'000, 4);
  auto writing = peer.start(stream->write(data, MonotonicClock::now() + seconds(30)));
  peer.settle();
  Frame received;
  for (int round = 0; round < 100 && received.size() < data.size(); ++round) {
    auto before = peer.rcv_nxt;
    for (const auto& segment : peer.take()) {
      if (segment.seq() == peer.rcv_nxt)
        received.insert(received.end(), segment.payload.begin(), segment.payload.end());
      peer.note(segment);
    }
    EXPECT_LE(peer.rcv_nxt - before, 4096);
    if (round < 2) EXPECT_FALSE(writing->has_value());
    if (peer.rcv_nxt != before) peer.send_now(tcp_flag::ack);
    else peer.settle();
  }
  EXPECT_EQ(received, data);
  ASSERT_TRUE(writing->has_value());
  EXPECT_TRUE(writing->value().has_value());
}

// A write that cannot find room by its deadline fails with timed_out.
TEST(TcpData, WriteTimesOutWhenTheBufferStaysFull) {
  TcpPeer peer;
  TcpListenOptions options;
  options.connection.send_buffer = 1000;
  auto stream = peer.establish(PeerOptions{}, options);
  ASSERT_TRUE(stream);
  auto written = peer.run(stream->write(frames::pattern(3000), MonotonicClock::now() + milliseconds(500)));
  ASSERT_FALSE(written.has_value());
  EXPECT_EQ(written.error().code, Errc::timed_out);
}

// RFC 9293 §3.10.7.4: in-order data is delivered and acknowledged.
TEST(TcpData, ReceivesInOrderData) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto data = frames::pattern(5000, 9);
  for (std::size_t offset = 0; offset < data.size(); offset += 1000)
    peer.send_now(tcp_flag::ack, slice(data, offset, 1000));
  peer.run_for(milliseconds(50));
  auto sent = peer.take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().ack(), peer.snd_nxt);
  EXPECT_EQ(peer.read_now(*stream), data);
  EXPECT_EQ(stream->stats().bytes_received, 5000u);
}

// RFC 9293 §3.10.7.4: an old duplicate is acknowledged at once and not delivered again.
TEST(TcpData, OldDuplicateIsAckedNotRedelivered) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto base = peer.snd_nxt;
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(100));
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(100));
  peer.run_for(milliseconds(50));
  (void)peer.take();
  frames::CounterWatch unacceptable("tcp.unacceptable_segments");
  send_at(peer, base, 0, frames::pattern(100));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
  EXPECT_EQ(unacceptable.delta(), 1u);
  EXPECT_TRUE(peer.read_now(*stream).empty());

  // A segment that overlaps RCV.NXT delivers only its new part (RFC 9293 §3.10.7.4, trimming).
  auto overlapping = frames::pattern(150);
  send_at(peer, base, 0, overlapping);
  EXPECT_EQ(peer.read_now(*stream), frames::to_frame(slice(overlapping, 100, 50)));
}

// RFC 9293 §3.10.7.4: data beyond the receive window is acknowledged and dropped.
TEST(TcpData, OutOfWindowDataIsAcked) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  frames::CounterWatch unacceptable("tcp.unacceptable_segments");
  send_at(peer, peer.snd_nxt, 300'000, frames::pattern(100));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
  EXPECT_EQ(sent[0].header.sack_block_count, 0u);
  EXPECT_EQ(unacceptable.delta(), 1u);
  // The segment left no trace: in-order data then arrives alone.
  peer.send_now(tcp_flag::ack, frames::pattern(10));
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(10));
}

// RFC 5681 §4.2, RFC 2018 §4: out-of-order data is ACKed at once with SACK blocks, the most
// recent first, and delivered in order once the gap fills.
TEST(TcpData, OutOfOrderDataIsReassembledWithSack) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto base = peer.snd_nxt;
  auto data = frames::pattern(700, 5);
  auto piece = [&](int index) { return slice(data, std::size_t(index) * 100, 100); };
  auto block = [&](std::uint32_t from, std::uint32_t to) { return SackBlock{base + from, base + to}; };
  auto expect_ack = [&](std::uint32_t ack, std::vector<SackBlock> blocks) {
    auto sent = peer.take();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].ack(), base + ack);
    auto got = sent[0].header.sack();
    EXPECT_EQ(std::vector<SackBlock>(got.begin(), got.end()), blocks);
  };

  send_at(peer, base, 200, piece(2));
  expect_ack(0, {block(200, 300)});
  send_at(peer, base, 500, piece(5));
  expect_ack(0, {block(500, 600), block(200, 300)});
  send_at(peer, base, 400, piece(4)); // merges with 500-600
  expect_ack(0, {block(400, 600), block(200, 300)});
  send_at(peer, base, 200, piece(2)); // a duplicate of held data
  EXPECT_EQ(peer.take().size(), 1u);
  EXPECT_TRUE(peer.read_now(*stream).empty());
  send_at(peer, base, 100, piece(1)); // merges with 200-300
  expect_ack(0, {block(100, 300), block(400, 600)});
  send_at(peer, base, 0, piece(0)); // fills the first gap
  expect_ack(300, {block(400, 600)});
  EXPECT_EQ(peer.read_now(*stream), frames::to_frame(slice(data, 0, 300)));
  send_at(peer, base, 300, piece(3)); // fills the last gap
  expect_ack(600, {});
  send_at(peer, base, 600, piece(6));
  peer.run_for(milliseconds(50));
  EXPECT_EQ(peer.read_now(*stream), frames::to_frame(slice(data, 300, 400)));
}

// RFC 2018 §3: with timestamps, at most three SACK blocks fit.
TEST(TcpData, AtMostThreeSackBlocksWithTimestamps) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto base = peer.snd_nxt;
  for (std::uint32_t hole = 1; hole <= 5; ++hole) send_at(peer, base, hole * 200, frames::pattern(100));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 5u);
  auto last = sent.back().header.sack();
  ASSERT_EQ(last.size(), 3u);
  EXPECT_EQ(last[0].left, base + 1000);
  EXPECT_EQ(last[1].left, base + 800);
  EXPECT_EQ(last[2].left, base + 600);
}

// RFC 9293 §3.4: sequence numbers wrap modulo 2^32; data across the wrap arrives intact.
TEST(TcpData, SequenceNumbersWrapAround) {
  TcpPeer peer;
  peer.snd_nxt = SequenceNumber(0xffffff00);
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto data = frames::pattern(1000, 11);
  auto base = peer.snd_nxt; // 0xffffff01
  // In order up to 0xffffffc9, then a segment held past the wrap, then the one across it.
  send_at(peer, base, 0, slice(data, 0, 200));
  send_at(peer, base, 400, slice(data, 400, 600));
  auto sent = peer.take();
  ASSERT_FALSE(sent.empty());
  ASSERT_EQ(sent.back().header.sack_block_count, 1u);
  EXPECT_EQ(sent.back().header.sack()[0].left, SequenceNumber(0xffffff01 + 400));
  send_at(peer, base, 200, slice(data, 200, 200));
  sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ack(), base + 1000);
  EXPECT_EQ((base + 1000).value(), 0x2e9u);
  EXPECT_EQ(peer.read_now(*stream), data);
  // The FIN beyond the wrap closes the stream.
  peer.snd_nxt = base + 1000;
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  EXPECT_EQ(stream->state(), TcpState::close_wait);
}

// RFC 9293 §3.8.6: the window offered shrinks as data waits unread and reopens after reading.
TEST(TcpData, ReceiveWindowAccounting) {
  TcpPeer peer;
  TcpListenOptions options;
  options.connection.receive_buffer = 4096;
  peer.listener = MUST(peer.tcp().listen(80, options));
  auto syn_ack = peer.handshake(bare_options());
  ASSERT_TRUE(syn_ack.has_value());
  EXPECT_EQ(syn_ack->header.window, 4096);
  auto stream = peer.accept();
  ASSERT_TRUE(stream);
  peer.send_now(tcp_flag::ack, frames::pattern(536));
  peer.send_now(tcp_flag::ack, frames::pattern(536));
  auto sent = peer.take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().header.window, 4096 - 1072);
  for (int i = 0; i < 5; ++i) peer.send_now(tcp_flag::ack, frames::pattern(536));
  peer.send_now(tcp_flag::ack, frames::pattern(4096 - 1072 - 5 * 536));
  peer.run_for(milliseconds(50));
  sent = peer.take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().header.window, 0);
  EXPECT_EQ(sent.back().ack(), peer.snd_nxt);

  // A zero window takes no data (RFC 9293 §3.10.7.4), but answers with an ACK.
  peer.send_now(tcp_flag::ack, frames::pattern(10));
  sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt - 10);
  EXPECT_EQ(sent[0].header.window, 0);
  peer.snd_nxt -= 10;

  // Reading reopens the window, and the stack says so (RFC 9293 §3.8.6.2.2).
  std::byte buffer[2048];
  auto read = peer.run(stream->read(buffer, MonotonicClock::now()));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, 2048u);
  peer.settle();
  sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.window, 2048);
  peer.send_now(tcp_flag::ack, frames::pattern(10));
  EXPECT_EQ(peer.read_now(*stream).size(), 4096u - 2048u + 10u);
}

// RFC 9293 §3.8.6: the advertised window never exceeds the receive buffer, whatever the peer's ISN.
TEST(TcpData, AdvertisedWindowFitsTheBufferForAnyIsn) {
  for (std::uint32_t isn : {0u, 0x7fffffffu, 0x90000000u, 0xfffffff0u}) {
    TcpPeer peer;
    peer.snd_nxt = SequenceNumber(isn);
    TcpListenOptions options;
    options.connection.receive_buffer = 4096;
    auto stream = peer.establish(bare_options(), options);
    ASSERT_TRUE(stream);
    peer.send_now(tcp_flag::ack, frames::pattern(100));
    peer.run_for(milliseconds(50));
    auto sent = peer.take();
    ASSERT_FALSE(sent.empty()) << isn;
    EXPECT_EQ(sent.back().header.window, 4096 - 100) << isn;
  }
}

// RFC 9293 §3.7.1: options a segment carries come out of its MSS: a data segment
// with SACK blocks must still fit the MTU (and never be fragmented).
TEST(TcpData, SackBlocksOnDataSegmentsStayWithinTheMtu) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  TcpHeader ahead = peer.make(tcp_flag::ack);
  ahead.sequence = peer.snd_nxt + 100;
  peer.inject(ahead, frames::pattern(10));
  peer.settle();
  (void)peer.take();
  ASSERT_TRUE(peer.write(*stream, frames::pattern(3000)));
  auto sent = peer.take_noted();
  ASSERT_EQ(sent.size(), 2u);
  peer.send_now(tcp_flag::ack); // releases the tail Nagle held
  auto tail = peer.take();
  ASSERT_EQ(tail.size(), 1u);
  sent.push_back(tail[0]);
  for (const auto& segment : sent) EXPECT_LE(segment.header.header_length() + segment.payload.size() + 20, 1500u);
  // A short segment still has room for the block.
  EXPECT_EQ(tail[0].payload.size(), 104u);
  EXPECT_EQ(tail[0].header.sack_block_count, 1u);
}

// RFC 7323 §2.3: the peer's window field is shifted by its scale; ours by our scale.
TEST(TcpData, WindowScalingAppliesBothWays) {
  TcpPeer peer;
  auto stream = peer.establish(); // the peer offers a shift of 7; we offer 3
  ASSERT_TRUE(stream);
  peer.send_now(tcp_flag::ack, frames::pattern(1000));
  peer.run_for(milliseconds(50));
  auto sent = peer.take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(std::uint32_t{sent.back().header.window} << 3, 256u * 1024u - 1000u);

  // The peer's window field 8 means 8 << 7 = 1024 bytes.
  peer.window = 8;
  peer.send_now(tcp_flag::ack);
  ASSERT_TRUE(peer.write(*stream, frames::pattern(4000)));
  auto data = with_data(peer.take_noted());
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].payload.size(), 1024u);
  peer.window = 100;
  peer.send_now(tcp_flag::ack);
  data = with_data(peer.take_noted());
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data[0].payload.size(), 1448u);
}

// RFC 9293 §3.8.6.2.2 with RFC 7323's scaling: the offered right edge never
// moves back, though the window field counts in units of 2^3 bytes here; and
// once the window is full, the peer's ACK numbered at that edge (its SND.NXT,
// the bytes it sent there lost) still counts. Both failing together stalled
// an echo under loss: its window shut 4 bytes short of the edge Linux had
// filled, so it dropped every ACK Linux sent, and Linux dropped its ACKs too.
TEST(TcpData, ScaledWindowEdgeHoldsAndAcksAtTheEdgeCount) {
  TcpPeer peer;
  auto stream = peer.establish(); // 256 KiB buffer: the stack's shift is 3
  ASSERT_TRUE(stream);
  ASSERT_TRUE(peer.write(*stream, frames::pattern(100)));
  auto ours = with_data(peer.take()); // not noted: the peer does not acknowledge it yet
  ASSERT_EQ(ours.size(), 1u);
  auto edge_of = [](const SentSegment& segment) { return segment.ack() + (std::uint32_t{segment.header.window} << 3); };
  std::optional<SequenceNumber> edge;
  constexpr std::size_t capacity = 256 * 1024;
  std::size_t sent = 0;
  while (sent < capacity - 4) {
    auto size = std::min<std::size_t>(1436, capacity - 4 - sent);
    peer.send_now(tcp_flag::ack, frames::pattern(size, static_cast<std::uint8_t>(sent)));
    sent += size;
    for (const auto& segment : peer.take()) {
      if (edge) EXPECT_FALSE(edge_of(segment) < *edge) << "the edge moved back after " << sent << " bytes";
      edge = edge_of(segment);
    }
  }
  peer.run_for(milliseconds(300)); // the delayed ACK for the last one
  for (const auto& segment : peer.take()) {
    EXPECT_FALSE(edge_of(segment) < *edge);
    edge = edge_of(segment);
  }
  ASSERT_TRUE(edge);
  ASSERT_TRUE(peer.snd_nxt < *edge);
  // The peer sent up to the edge and that was lost; its ACK of our 100 bytes is numbered there.
  frames::CounterWatch unacceptable("tcp.unacceptable_segments");
  peer.snd_nxt = *edge;
  peer.note(ours[0]);
  peer.send_now(tcp_flag::ack);
  EXPECT_EQ(unacceptable.delta(), 0u);
  // Acknowledged: no retransmission of the 100 bytes follows.
  peer.run_for(seconds(3));
  EXPECT_TRUE(with_data(peer.take()).empty());
}

// RFC 9293 §3.8.6.2.2: a read announces the window only when the window field
// can say more: without window scaling 65,535 bytes are already offered from a
// 256 KiB buffer, and a window update per read would only repeat that.
TEST(TcpData, ReadsDoNotRepeatAWindowTheFieldCannotWiden) {
  TcpPeer peer;
  auto stream = peer.establish(bare_options());
  ASSERT_TRUE(stream);
  for (int i = 0; i < 4; ++i) peer.send_now(tcp_flag::ack, frames::pattern(536, static_cast<std::uint8_t>(i)));
  peer.run_for(milliseconds(300));
  auto acks = peer.take();
  ASSERT_FALSE(acks.empty());
  EXPECT_EQ(acks.back().header.window, 0xffff);
  EXPECT_EQ(peer.read_now(*stream).size(), 4u * 536u);
  peer.settle();
  EXPECT_TRUE(peer.take().empty());
}

// The SYN-ACK offered a window too: reading the first request right after the
// handshake does not send a window update for it (the ACK waits for the
// response, or the delayed-ACK timer).
TEST(TcpData, FirstReadAfterTheHandshakeSendsNoWindowUpdate) {
  TcpPeer peer;
  auto stream = peer.establish(bare_options());
  ASSERT_TRUE(stream);
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(100));
  (void)peer.take();
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(100));
  peer.settle();
  EXPECT_TRUE(peer.take().empty());
}

// RFC 7323 §5: PAWS drops a segment whose timestamp is older than TS.Recent, and ACKs it.
TEST(TcpData, PawsDropsOldTimestamps) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  frames::CounterWatch paws("tcp.paws_rejected");
  peer.run_for(milliseconds(100));
  peer.send_now(tcp_flag::ack, frames::pattern(10));
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(10));
  peer.run_for(milliseconds(50));
  (void)peer.take();
  TcpHeader old = peer.make(tcp_flag::ack);
  old.timestamps->value -= 1000;
  peer.inject(old, frames::pattern(10, 1));
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
  EXPECT_EQ(paws.delta(), 1u);
  EXPECT_TRUE(peer.read_now(*stream).empty());
  // The same bytes with a current timestamp are taken.
  peer.send_now(tcp_flag::ack, frames::pattern(10, 1));
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(10, 1));
}

// RFC 7323 §3.2: every segment echoes the peer's latest timestamp.
TEST(TcpData, TimestampsAreEchoed) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  peer.run_for(milliseconds(300));
  auto header = peer.make(tcp_flag::ack);
  peer.send_now(tcp_flag::ack, frames::pattern(1000));
  peer.run_for(milliseconds(50));
  auto sent = peer.take();
  ASSERT_FALSE(sent.empty());
  ASSERT_TRUE(sent.back().header.timestamps.has_value());
  EXPECT_EQ(sent.back().header.timestamps->echo_reply, header.timestamps->value);
}

} // namespace
} // namespace morgana::net
