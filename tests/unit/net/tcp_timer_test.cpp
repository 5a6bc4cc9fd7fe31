// Timers and loss recovery: retransmission, fast retransmit, SACK recovery, persist,
// delayed ACK, Nagle, keep-alive.

#include <gtest/gtest.h>

#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The peer offers SACK and an MSS of 1000, nothing else: segments are 1000 bytes.
PeerOptions sack_options() { return PeerOptions{1000, std::nullopt, true, false}; }
PeerOptions plain_options() { return PeerOptions{1000, std::nullopt, false, false}; }

// Runs until `at` past `start` minus a little, expects nothing, then runs past it and returns what came.
std::vector<SentSegment> expect_at(TcpPeer& peer, Instant start, Duration at) {
  peer.run_for(start + at - milliseconds(5) - MonotonicClock::now());
  auto early = peer.take();
  EXPECT_TRUE(early.empty()) << "sent before " << at.count() << " ns";
  peer.run_for(milliseconds(10));
  return peer.take();
}

// RFC 6298 §5.4-§5.6: unacknowledged data goes again after the RTO, which doubles each time.
TEST(TcpTimer, RetransmitsAfterRtoWithBackoff) {
  TcpPeer peer;
  auto stream = peer.establish(plain_options());
  ASSERT_TRUE(stream);
  auto start = MonotonicClock::now();
  ASSERT_TRUE(peer.write(*stream, frames::pattern(100)));
  auto first = peer.take();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(stream->stats().rto, seconds(1)); // RFC 6298 §2.1: no sample yet
  for (auto at : {seconds(1), seconds(3), seconds(7), seconds(15)}) {
    auto again = expect_at(peer, start, at);
    ASSERT_EQ(again.size(), 1u) << at.count();
    EXPECT_EQ(again[0].seq(), first[0].seq());
    EXPECT_EQ(again[0].payload, first[0].payload);
  }
  EXPECT_EQ(stream->stats().timeouts, 4u);
  EXPECT_EQ(stream->stats().retransmits, 4u);
  EXPECT_EQ(stream->stats().rto, seconds(16));

  // The ACK stops the timer.
  peer.note(first[0]);
  peer.send_now(tcp_flag::ack);
  peer.run_for(seconds(60));
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(stream->state(), TcpState::established);
}

// After a timeout rewinds SND.NXT to resend from SND.UNA, a pure ACK still
// carries SND.MAX: Linux drops a segment numbered below its RCV.NXT whole, ACK
// included, and an abort's RST numbered there would be ignored as well.
TEST(TcpTimer, AcksAfterATimeoutCarrySndMax) {
  TcpPeer peer;
  auto stream = peer.establish(plain_options());
  ASSERT_TRUE(stream);
  auto start = MonotonicClock::now();
  ASSERT_TRUE(peer.write(*stream, frames::pattern(3000)));
  auto first = peer.take();
  ASSERT_EQ(first.size(), 3u);
  auto snd_max = first.back().end();
  auto again = expect_at(peer, start, seconds(1));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq(), first[0].seq());
  // The peer got everything but the ACKs were lost; its data makes the stack ACK.
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(10));
  peer.run_for(milliseconds(250)); // the delayed ACK
  auto acks = peer.take();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_TRUE(acks[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(acks[0].seq(), snd_max);
  EXPECT_EQ(acks[0].ack(), peer.snd_nxt);
  stream->abort();
  peer.settle();
  auto rst = peer.take();
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_TRUE(rst[0].has(tcp_flag::rst));
  EXPECT_EQ(rst[0].seq(), snd_max);
}

// RFC 9293 §3.8.3: after the retry limit the connection is reset and reads fail with timed_out.
TEST(TcpTimer, GivesUpAfterTheRetryLimit) {
  TcpPeer peer;
  auto stream = peer.establish(plain_options());
  ASSERT_TRUE(stream);
  frames::CounterWatch timed_out("tcp.connections_timed_out");
  ASSERT_TRUE(peer.write(*stream, frames::pattern(100)));
  std::byte buffer[16];
  auto read = peer.start(stream->read(buffer, far_future));
  peer.run_for(seconds(1000));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 14u); // the first, 12 retransmissions, then RST
  EXPECT_EQ(with_data(sent).size(), 13u);
  EXPECT_TRUE(sent.back().has(tcp_flag::rst));
  ASSERT_TRUE(read->has_value());
  ASSERT_FALSE(read->value().has_value());
  EXPECT_EQ(read->value().error().code, Errc::timed_out);
  EXPECT_EQ(timed_out.delta(), 1u);
  EXPECT_EQ(stream->state(), TcpState::closed);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// RFC 6298 §2.2, RFC 7323 §4: the first timestamp sample sets SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR.
TEST(TcpTimer, RtoFollowsMeasuredRoundTrips) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  ASSERT_TRUE(peer.write(*stream, frames::pattern(100)));
  (void)peer.take_noted();
  peer.run_for(milliseconds(100));
  peer.send_now(tcp_flag::ack);
  auto stats = stream->stats();
  EXPECT_GE(stats.srtt, milliseconds(100));
  EXPECT_LE(stats.srtt, milliseconds(102));
  EXPECT_GE(stats.rto, milliseconds(300));
  EXPECT_LE(stats.rto, milliseconds(306));
  // The next loss is repaired after that RTO, not after a second.
  auto start = MonotonicClock::now();
  ASSERT_TRUE(peer.write(*stream, frames::pattern(100, 1)));
  (void)peer.take();
  auto again = expect_at(peer, start, stats.rto);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].payload, frames::pattern(100, 1));
}

// RFC 5681 §3.2: three duplicate ACKs retransmit the first unacknowledged segment before the RTO.
TEST(TcpTimer, FastRetransmitOnThreeDuplicateAcks) {
  TcpPeer peer;
  auto stream = peer.establish(plain_options());
  ASSERT_TRUE(stream);
  frames::CounterWatch fast("tcp.fast_retransmits");
  ASSERT_TRUE(peer.write(*stream, frames::pattern(5000)));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 5u);
  auto base = sent[0].seq();
  peer.rcv_nxt = base + 1000; // the second segment was lost
  peer.send_now(tcp_flag::ack);
  for (int duplicate = 1; duplicate <= 2; ++duplicate) {
    peer.send_now(tcp_flag::ack);
    EXPECT_TRUE(with_data(peer.take()).empty()) << duplicate;
  }
  peer.send_now(tcp_flag::ack);
  auto again = with_data(peer.take());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq(), base + 1000);
  EXPECT_EQ(again[0].payload, frames::to_frame(Bytes(frames::pattern(5000)).subspan(1000, 1000)));
  EXPECT_EQ(fast.delta(), 1u);
  EXPECT_EQ(stream->stats().fast_retransmits, 1u);
  EXPECT_EQ(stream->stats().timeouts, 0u);
  // Recovery ends when everything is acknowledged; nothing more goes out.
  peer.rcv_nxt = base + 5000;
  peer.send_now(tcp_flag::ack);
  peer.run_for(seconds(5));
  EXPECT_TRUE(peer.take().empty());
}

// RFC 6675 §5: with SACK, only the holes the peer reports are retransmitted.
TEST(TcpTimer, SackRecoveryRetransmitsOnlyTheHoles) {
  TcpPeer peer;
  auto stream = peer.establish(sack_options());
  ASSERT_TRUE(stream);
  auto data = frames::pattern(8000, 2);
  ASSERT_TRUE(peer.write(*stream, data));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 8u);
  auto base = sent[0].seq();
  // Segments 1 and 3 (of 0-7) are lost; the peer SACKs the others as they arrive.
  peer.rcv_nxt = base + 1000;
  peer.send_now(tcp_flag::ack);
  auto sack_ack = [&](std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks) {
    TcpHeader header = peer.make(tcp_flag::ack);
    for (const auto& [left, right] : blocks)
      header.sack_blocks[header.sack_block_count++] = SackBlock{base + left, base + right};
    peer.inject(header);
    peer.settle();
  };
  std::vector<SentSegment> retransmitted;
  auto collect = [&] {
    for (auto& segment : with_data(peer.take())) retransmitted.push_back(segment);
  };
  sack_ack({{2000, 3000}});
  collect();
  sack_ack({{4000, 5000}, {2000, 3000}});
  collect();
  sack_ack({{4000, 6000}, {2000, 3000}});
  collect();
  sack_ack({{4000, 7000}, {2000, 3000}});
  collect();
  sack_ack({{4000, 8000}, {2000, 3000}});
  collect();
  ASSERT_EQ(retransmitted.size(), 2u);
  EXPECT_EQ(retransmitted[0].seq(), base + 1000);
  EXPECT_EQ(retransmitted[0].payload, frames::to_frame(Bytes(data).subspan(1000, 1000)));
  EXPECT_EQ(retransmitted[1].seq(), base + 3000);
  EXPECT_EQ(retransmitted[1].payload, frames::to_frame(Bytes(data).subspan(3000, 1000)));
  EXPECT_EQ(stream->stats().timeouts, 0u);
  // The repaired holes complete the data; the peer acknowledges everything.
  peer.rcv_nxt = base + 8000;
  peer.send_now(tcp_flag::ack);
  peer.run_for(seconds(5));
  EXPECT_TRUE(peer.take().empty());
}

// RFC 9293 §3.8.6.1: a zero window is probed, with backoff, until it opens; then data flows.
TEST(TcpTimer, ZeroWindowIsProbed) {
  TcpPeer peer;
  auto stream = peer.establish(plain_options());
  ASSERT_TRUE(stream);
  peer.window = 0;
  peer.send_now(tcp_flag::ack);
  auto start = MonotonicClock::now();
  ASSERT_TRUE(peer.write(*stream, frames::pattern(100)));
  EXPECT_TRUE(peer.take().empty());
  std::vector<Duration> probe_times;
  for (int i = 0; i < 40 && probe_times.size() < 4; ++i) {
    peer.run_for(milliseconds(250));
    for (const auto& probe : peer.take()) {
      EXPECT_TRUE(probe.flags_are(tcp_flag::ack));
      EXPECT_LE(probe.payload.size(), 1u);
      probe_times.push_back(MonotonicClock::now() - start);
      peer.send_now(tcp_flag::ack); // still closed
      EXPECT_TRUE(peer.take().empty());
    }
  }
  ASSERT_EQ(probe_times.size(), 4u);
  // The interval never shrinks, and grows.
  for (std::size_t i = 2; i < probe_times.size(); ++i)
    EXPECT_GE(probe_times[i] - probe_times[i - 1], probe_times[i - 1] - probe_times[i - 2]);
  EXPECT_GT(probe_times[3] - probe_times[2], probe_times[1] - probe_times[0]);
  EXPECT_EQ(stream->state(), TcpState::established);

  peer.window = 65535;
  peer.send_now(tcp_flag::ack);
  auto data = with_data(peer.take());
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].payload, frames::pattern(100));
}

// RFC 1122 §4.2.3.2, RFC 5681 §4.2: one segment is ACKed after the delay, the second full one at once.
TEST(TcpTimer, DelayedAck) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto start = MonotonicClock::now();
  peer.send_now(tcp_flag::ack, frames::pattern(100));
  auto ack = expect_at(peer, start, milliseconds(40));
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_EQ(ack[0].ack(), peer.snd_nxt);

  peer.send_now(tcp_flag::ack, frames::pattern(1448));
  EXPECT_TRUE(peer.take().empty());
  peer.send_now(tcp_flag::ack, frames::pattern(1448));
  ack = peer.take();
  ASSERT_EQ(ack.size(), 1u);
  EXPECT_EQ(ack[0].ack(), peer.snd_nxt);
  EXPECT_EQ(peer.read_now(*stream).size(), 100u + 2 * 1448u);
}

// RFC 1122 §4.2.3.2: data we send carries the pending ACK, and the delayed ACK is then not sent.
TEST(TcpTimer, DataCarriesTheDelayedAck) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  peer.send_now(tcp_flag::ack, frames::pattern(100));
  ASSERT_TRUE(peer.write(*stream, frames::pattern(10)));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
  peer.run_for(milliseconds(100));
  EXPECT_TRUE(peer.take().empty());
}

// RFC 9293 §3.7.4: Nagle holds a small segment while data is unacknowledged.
TEST(TcpTimer, NagleHoldsSmallSegments) {
  TcpPeer peer;
  auto stream = peer.establish(plain_options());
  ASSERT_TRUE(stream);
  ASSERT_TRUE(peer.write(*stream, frames::pattern(10)));
  auto first = peer.take_noted();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(peer.write(*stream, frames::pattern(10, 1)));
  ASSERT_TRUE(peer.write(*stream, frames::pattern(10, 2)));
  EXPECT_TRUE(peer.take().empty());
  peer.send_now(tcp_flag::ack);
  auto second = peer.take();
  ASSERT_EQ(second.size(), 1u);
  Frame expected = frames::pattern(10, 1);
  auto third = frames::pattern(10, 2);
  expected.insert(expected.end(), third.begin(), third.end());
  EXPECT_EQ(second[0].payload, expected);
}

// RFC 9293 §3.7.4: with Nagle off every write goes out at once.
TEST(TcpTimer, NoDelaySendsAtOnce) {
  TcpPeer peer;
  auto stream = peer.establish(plain_options());
  ASSERT_TRUE(stream);
  stream->set_nodelay(true);
  for (std::uint8_t i = 0; i < 3; ++i) ASSERT_TRUE(peer.write(*stream, frames::pattern(10, i)));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 3u);
  for (std::uint8_t i = 0; i < 3; ++i) EXPECT_EQ(sent[i].payload, frames::pattern(10, i));
}

// RFC 1122 §4.2.3.6: keep-alive probes after the idle time; an answer keeps the connection.
TEST(TcpTimer, KeepAliveProbesAnIdleConnection) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  stream->set_keepalive(seconds(10));
  auto start = MonotonicClock::now();
  auto probe = expect_at(peer, start, seconds(10));
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_TRUE(probe[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(probe[0].seq(), peer.rcv_nxt - 1); // an old sequence number asks for an ACK
  EXPECT_LE(probe[0].payload.size(), 1u);
  peer.send_now(tcp_flag::ack);
  start = MonotonicClock::now();
  probe = expect_at(peer, start, seconds(10));
  EXPECT_EQ(probe.size(), 1u);
  EXPECT_EQ(stream->state(), TcpState::established);
}

// RFC 1122 §4.2.3.6: a peer that never answers the probes is given up; reads fail with timed_out.
TEST(TcpTimer, KeepAliveDropsADeadPeer) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  stream->set_keepalive(seconds(10));
  std::byte buffer[16];
  auto read = peer.start(stream->read(buffer, far_future));
  peer.run_for(seconds(10 + 8 * 75 + 30));
  auto probes = peer.take();
  EXPECT_EQ(probes.size(), 9u);
  EXPECT_FALSE(read->has_value());
  peer.run_for(seconds(60));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].has(tcp_flag::rst));
  ASSERT_TRUE(read->has_value());
  ASSERT_FALSE(read->value().has_value());
  EXPECT_EQ(read->value().error().code, Errc::timed_out);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// Without keep-alive an idle connection sends nothing, however long it waits.
TEST(TcpTimer, IdleConnectionStaysQuiet) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  peer.run_for(seconds(3 * 3600));
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(stream->state(), TcpState::established);
}

} // namespace
} // namespace morgana::net
