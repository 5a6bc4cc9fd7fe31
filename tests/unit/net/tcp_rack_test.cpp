// Loss detection beyond duplicate ACKs, through a connection: RACK (RFC 8985
// §6) tolerates reordering within its window and finds real losses after it;
// the Tail Loss Probe (§7) repairs a lost tail before the RTO; D-SACK (RFC
// 2883) is sent for duplicates and undoes a spurious reduction; without SACK
// the duplicate-ACK threshold stays.

#include <gtest/gtest.h>

#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using std::chrono::milliseconds;
using std::chrono::seconds;

// SACK and an MSS of 1000, no timestamps: segments are 1000 bytes, RTT comes from timed segments.
PeerOptions sack_options() { return PeerOptions{1000, std::nullopt, true, false}; }
PeerOptions plain_options() { return PeerOptions{1000, std::nullopt, false, false}; }

constexpr Duration round_trip = milliseconds(20);

// A connection whose flights the peer answers by hand, `base` the first unsent byte.
struct Flight {
  TcpPeer& peer;
  SequenceNumber base;

  // Acknowledges up to `ack` bytes past base with SACK blocks (offsets past base).
  void ack(std::uint32_t ack, std::vector<std::pair<std::uint32_t, std::uint32_t>> blocks = {}) {
    TcpHeader header = peer.make(tcp_flag::ack);
    header.acknowledgment = base + ack;
    for (const auto& [left, right] : blocks)
      header.sack_blocks[header.sack_block_count++] = SackBlock{base + left, base + right};
    peer.inject(header);
    peer.settle();
  }
};

// Writes `bytes`, expects them sent at once, waits a round trip; returns the flight.
Flight send_flight(TcpPeer& peer, TcpStream& stream, std::size_t bytes, std::uint8_t seed) {
  EXPECT_TRUE(peer.write(stream, frames::pattern(bytes, seed)));
  auto sent = with_data(peer.take());
  EXPECT_EQ(sent.size(), (bytes + 999) / 1000);
  Flight flight{peer, sent.empty() ? SequenceNumber{} : sent[0].seq()};
  peer.run_for(round_trip);
  return flight;
}

// A connection that has measured the round trip (RACK's min_RTT = 20 ms, its
// reordering window 5 ms) and seen one reordering: segment 1 of a flight
// SACKed before segment 0, which arrives 1 ms later.
std::unique_ptr<TcpStream> establish_with_reordering_seen(TcpPeer& peer) {
  auto stream = peer.establish(sack_options());
  if (!stream) return stream;
  auto flight = send_flight(peer, *stream, 2000, 1);
  flight.ack(0, {{1000, 2000}});
  flight.ack(2000);
  EXPECT_TRUE(with_data(peer.take()).empty());
  return stream;
}

// RFC 8985 §6.2: once reordering was seen, a hole with three segments SACKed
// above it (DupThresh's loss) that fills within the reordering window costs no
// retransmission and no reduction.
TEST(TcpRack, ReorderingWithinTheWindowIsNotRetransmitted) {
  TcpPeer peer;
  auto stream = establish_with_reordering_seen(peer);
  ASSERT_TRUE(stream);
  frames::CounterWatch rack_losses("tcp.rack_losses");
  auto cwnd = stream->stats().cwnd;
  auto flight = send_flight(peer, *stream, 5000, 2);
  flight.ack(0, {{1000, 2000}});
  flight.ack(0, {{1000, 3000}});
  flight.ack(0, {{1000, 4000}});
  EXPECT_TRUE(with_data(peer.take()).empty());
  flight.ack(5000); // segment 0 arrives, reordered by 3 ms
  peer.run_for(seconds(2));
  EXPECT_TRUE(with_data(peer.take()).empty());
  EXPECT_EQ(stream->stats().retransmits, 0u);
  EXPECT_EQ(rack_losses.delta(), 0u);
  EXPECT_GE(stream->stats().cwnd, cwnd);
}

// RFC 8985 §6.2-§6.3: the same hole not filled is retransmitted once the
// reordering window passed (the reordering timer), long before the RTO.
TEST(TcpRack, LossIsDetectedAfterTheReorderingWindow) {
  TcpPeer peer;
  auto stream = establish_with_reordering_seen(peer);
  ASSERT_TRUE(stream);
  frames::CounterWatch rack_losses("tcp.rack_losses");
  auto flight = send_flight(peer, *stream, 5000, 2);
  flight.ack(0, {{1000, 2000}});
  flight.ack(0, {{1000, 3000}});
  flight.ack(0, {{1000, 4000}});
  EXPECT_TRUE(with_data(peer.take()).empty()); // within the window
  peer.run_for(milliseconds(10));
  auto again = with_data(peer.take());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq(), flight.base);
  EXPECT_EQ(again[0].payload, frames::to_frame(Bytes(frames::pattern(5000, 2)).first(1000)));
  EXPECT_EQ(rack_losses.delta(), 1u);
  EXPECT_EQ(stream->stats().timeouts, 0u);
  EXPECT_EQ(stream->stats().fast_retransmits, 1u);
  flight.ack(5000);
  peer.run_for(seconds(2));
  EXPECT_TRUE(with_data(peer.take()).empty());
}

// RFC 2883 §4 and RFC 8985 §6.2 step 4: a retransmission the peer reports as a
// duplicate (D-SACK below the cumulative ACK) was spurious; as every
// retransmission of the recovery was, cwnd and ssthresh go back.
TEST(TcpRack, DsackAfterSpuriousRetransmissionUndoesTheReduction) {
  TcpPeer peer;
  auto stream = peer.establish(sack_options());
  ASSERT_TRUE(stream);
  frames::CounterWatch dsacks("tcp.dsacks_received");
  frames::CounterWatch undone("tcp.spurious_recoveries_undone");
  auto before = stream->stats();
  auto flight = send_flight(peer, *stream, 10'000, 3);
  // No reordering seen yet: three segments SACKed above a hole mark it lost at once.
  flight.ack(0, {{1000, 2000}});
  flight.ack(0, {{1000, 3000}});
  flight.ack(0, {{1000, 4000}});
  auto again = with_data(peer.take());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq(), flight.base);
  EXPECT_LT(stream->stats().cwnd, before.cwnd);
  // The original was only delayed: the peer acknowledges it, then reports the retransmission as a duplicate.
  flight.ack(10'000);
  flight.ack(10'000, {{0, 1000}});
  EXPECT_EQ(dsacks.delta(), 1u);
  EXPECT_EQ(undone.delta(), 1u);
  auto after = stream->stats();
  EXPECT_GE(after.cwnd, before.cwnd);
  EXPECT_GE(after.ssthresh, before.ssthresh);
}

// A D-SACK for only part of the retransmissions undoes nothing: a real loss stays a loss.
TEST(TcpRack, DsackForSomeRetransmissionsKeepsTheReduction) {
  TcpPeer peer;
  auto stream = peer.establish(sack_options());
  ASSERT_TRUE(stream);
  frames::CounterWatch undone("tcp.spurious_recoveries_undone");
  auto flight = send_flight(peer, *stream, 10'000, 4);
  // Segments 0 and 2 missing; 0 was only delayed and arrives before its retransmission.
  flight.ack(0, {{1000, 2000}});
  flight.ack(0, {{3000, 5000}, {1000, 2000}});
  flight.ack(0, {{3000, 6000}, {1000, 2000}});
  flight.ack(2000, {{3000, 7000}});
  auto again = with_data(peer.take());
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].seq(), flight.base);
  EXPECT_EQ(again[1].seq(), flight.base + 2000);
  auto reduced = stream->stats().cwnd;
  flight.ack(10'000);
  flight.ack(10'000, {{0, 1000}}); // segment 0 was a duplicate, segment 2 was not
  EXPECT_EQ(undone.delta(), 0u);
  EXPECT_LE(stream->stats().cwnd, reduced + 2000);
}

// RFC 3522 (Eifel): with timestamps, the ACK covering the retransmission echoes
// the original's timestamp: the reduction is undone without waiting for a D-SACK.
TEST(TcpRack, TimestampsShowASpuriousRetransmission) {
  TcpPeer peer;
  auto stream = peer.establish(PeerOptions{1000, std::nullopt, true, true});
  ASSERT_TRUE(stream);
  frames::CounterWatch undone("tcp.spurious_recoveries_undone");
  auto before = stream->stats();
  ASSERT_TRUE(peer.write(*stream, frames::pattern(9880, 5)));
  auto sent = with_data(peer.take());
  ASSERT_EQ(sent.size(), 10u);
  auto original_tsval = sent[0].header.timestamps->value;
  Flight flight{peer, sent[0].seq()};
  auto mss = static_cast<std::uint32_t>(sent[0].payload.size());
  peer.run_for(round_trip);
  peer.ts_echo = sent.back().header.timestamps->value;
  flight.ack(0, {{mss, 2 * mss}});
  flight.ack(0, {{mss, 3 * mss}});
  flight.ack(0, {{mss, 4 * mss}});
  auto again = with_data(peer.take());
  ASSERT_EQ(again.size(), 1u);
  ASSERT_LT(original_tsval, again[0].header.timestamps->value);
  EXPECT_LT(stream->stats().cwnd, before.cwnd);
  // The original fills the hole: the ACK echoes its timestamp.
  peer.ts_echo = original_tsval;
  flight.ack(9880);
  EXPECT_EQ(undone.delta(), 1u);
  EXPECT_GE(stream->stats().cwnd, before.cwnd);
}

// RFC 8985 §7: when the last segments of a flight are lost and no ACK comes,
// a probe (the last segment again) goes out after 2 SRTT; its SACK lets RACK
// find the rest; no retransmission timeout happens.
TEST(TcpRack, LostTailIsRepairedByAProbeBeforeTheRto) {
  TcpPeer peer;
  auto stream = peer.establish(sack_options());
  ASSERT_TRUE(stream);
  frames::CounterWatch probes("tcp.tlp_probes");
  frames::CounterWatch repaired("tcp.tlp_recoveries");
  auto first = send_flight(peer, *stream, 1000, 6);
  first.ack(1000); // SRTT 20 ms, RTO 200 ms
  auto rto = stream->stats().rto;
  auto flight = send_flight(peer, *stream, 5000, 7);
  flight.ack(3000); // segments 3 and 4 were lost
  auto start = MonotonicClock::now();
  peer.run_for(milliseconds(100));
  auto probe = with_data(peer.take());
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_EQ(probe[0].seq(), flight.base + 4000);
  EXPECT_EQ(probes.delta(), 1u);
  EXPECT_LT(MonotonicClock::now() - start, rto);
  flight.ack(3000, {{4000, 5000}});
  auto rest = with_data(peer.take());
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].seq(), flight.base + 3000);
  flight.ack(5000);
  EXPECT_EQ(stream->stats().timeouts, 0u);
  // The next flight's ACK goes past the probe with no D-SACK for it: the probe repaired a loss.
  auto next = send_flight(peer, *stream, 1000, 8);
  next.ack(1000);
  EXPECT_EQ(repaired.delta(), 1u);
  peer.run_for(seconds(2));
  EXPECT_TRUE(with_data(peer.take()).empty());
}

// A probe the peer reports as a duplicate (the ACK was lost, not the data) ends the episode with no reduction.
TEST(TcpRack, DuplicateProbeIsNoLoss) {
  TcpPeer peer;
  auto stream = peer.establish(sack_options());
  ASSERT_TRUE(stream);
  frames::CounterWatch repaired("tcp.tlp_recoveries");
  auto first = send_flight(peer, *stream, 1000, 6);
  first.ack(1000);
  auto flight = send_flight(peer, *stream, 3000, 7);
  peer.run_for(milliseconds(100));
  ASSERT_EQ(with_data(peer.take()).size(), 1u); // the probe
  auto cwnd = stream->stats().cwnd;
  flight.ack(3000, {{2000, 3000}});
  EXPECT_EQ(repaired.delta(), 0u);
  EXPECT_GE(stream->stats().cwnd, cwnd);
  auto next = send_flight(peer, *stream, 1000, 8);
  next.ack(1000);
  EXPECT_EQ(repaired.delta(), 0u);
}

// Without SACK there is neither RACK nor TLP: three duplicate ACKs retransmit, a lost tail waits for the RTO.
TEST(TcpRack, WithoutSackDuplicateAcksAndTheRtoRemain) {
  TcpPeer peer;
  auto stream = peer.establish(plain_options());
  ASSERT_TRUE(stream);
  frames::CounterWatch probes("tcp.tlp_probes");
  frames::CounterWatch rack_losses("tcp.rack_losses");
  auto flight = send_flight(peer, *stream, 5000, 9);
  flight.ack(1000);
  flight.ack(1000);
  EXPECT_TRUE(with_data(peer.take()).empty());
  flight.ack(1000);
  EXPECT_TRUE(with_data(peer.take()).empty());
  flight.ack(1000);
  auto again = with_data(peer.take());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].seq(), flight.base + 1000);
  flight.ack(5000);
  auto tail = send_flight(peer, *stream, 2000, 10);
  tail.ack(1000); // the last segment is lost
  peer.run_for(milliseconds(150));
  EXPECT_TRUE(with_data(peer.take()).empty());
  peer.run_for(seconds(2));
  auto timed_out = with_data(peer.take());
  ASSERT_FALSE(timed_out.empty());
  EXPECT_EQ(timed_out[0].seq(), tail.base + 1000);
  EXPECT_GE(stream->stats().timeouts, 1u);
  EXPECT_EQ(probes.delta(), 0u);
  EXPECT_EQ(rack_losses.delta(), 0u);
}

// RFC 2883 §4: the receiver reports a duplicate below RCV.NXT, or of data it
// holds out of order, as the first SACK block (then the block holding it).
TEST(TcpRack, DuplicatesAreReportedWithDsack) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto base = peer.snd_nxt;
  auto data = frames::pattern(400, 10);
  auto piece = [&](std::uint32_t offset) { return Bytes(data).subspan(offset, 100); };
  auto send_at = [&](std::uint32_t offset) {
    TcpHeader header = peer.make(tcp_flag::ack);
    header.sequence = base + offset;
    peer.inject(header, piece(offset));
    peer.settle();
    auto sent = peer.take();
    EXPECT_EQ(sent.size(), 1u);
    auto blocks = sent.empty() ? std::span<const SackBlock>{} : sent.back().header.sack();
    return std::vector<SackBlock>(blocks.begin(), blocks.end());
  };
  auto block = [&](std::uint32_t from, std::uint32_t to) { return SackBlock{base + from, base + to}; };
  peer.send(tcp_flag::ack, piece(0));
  peer.run_for(milliseconds(50)); // the delayed ACK
  ASSERT_EQ(peer.take().size(), 1u);
  EXPECT_EQ(send_at(0), std::vector<SackBlock>{block(0, 100)}); // below RCV.NXT
  EXPECT_EQ(send_at(200), std::vector<SackBlock>{block(200, 300)});
  EXPECT_EQ(send_at(200), (std::vector<SackBlock>{block(200, 300), block(200, 300)})); // held out of order
  EXPECT_EQ(send_at(300), std::vector<SackBlock>{block(200, 400)});                    // reported once
  EXPECT_EQ(send_at(100), std::vector<SackBlock>{});
  EXPECT_EQ(peer.read_now(*stream), data);
}

// A retransmission never reaches past SND.MAX, even when less than an MSS is in
// flight and more data waits: the peer's ACK for bytes never counted as sent
// would be dropped as an ACK of data never sent, and the connection would stall.
TEST(TcpRack, RetransmissionStopsAtSndMax) {
  TcpPeer peer;
  peer.window = 700;
  auto stream = peer.establish(sack_options());
  ASSERT_TRUE(stream);
  stream->set_nodelay(true);
  ASSERT_TRUE(peer.write(*stream, frames::pattern(500, 11)));
  auto first = with_data(peer.take());
  ASSERT_EQ(first.size(), 1u);
  // 200 bytes of window left: sender SWS avoidance holds the next 1000.
  ASSERT_TRUE(peer.write(*stream, frames::pattern(1000, 12)));
  EXPECT_TRUE(with_data(peer.take()).empty());
  peer.run_for(seconds(2)); // the RTO (no RTT sample yet: 1 s)
  auto again = with_data(peer.take());
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again[0].seq(), first[0].seq());
  EXPECT_EQ(again[0].payload, first[0].payload);
  peer.note(again[0]);
  peer.send_now(tcp_flag::ack);
  EXPECT_EQ(stream->stats().retransmits, again.size());
}

// The records are by sequence range, not by MSS: a retransmission of part of a
// large (TSO) segment splits its record, and only the part resent gets the new time.
TEST(Rack, RetransmissionSplitsALargeSegmentsRecord) {
  Rack rack;
  ASSERT_TRUE(rack.allocate(8));
  SequenceNumber base{0xFFFF'F000}; // the ranges wrap past 2^32
  Instant start{};
  rack.on_sent(base, base + 64'000, start);
  rack.on_sent(base + 64'000, base + 65'000, start + milliseconds(10));
  EXPECT_EQ(rack.records(), 2u);
  rack.on_sent(base + 1000, base + 2000, start + milliseconds(30)); // resent from inside the first
  EXPECT_EQ(rack.records(), 4u);
  // The last segment is SACKed a round trip after it went: everything sent before it is lost but the resent part.
  std::vector<SackBlock> sacked{{base + 64'000, base + 65'000}};
  auto verdict = rack.on_ack(base, base + 65'000, sacked, false, false, milliseconds(20), start + milliseconds(31));
  EXPECT_TRUE(verdict.new_losses);
  EXPECT_EQ(verdict.lost_end, base + 64'000);
  EXPECT_FALSE(verdict.lost_retransmission);
}

// When the records run out, RACK stops judging (DupThresh decides) until everything in flight is acknowledged.
TEST(Rack, FullRecordsFallBackUntilTheFlightDrains) {
  Rack rack;
  ASSERT_TRUE(rack.allocate(2));
  SequenceNumber base{1000};
  Instant start{};
  for (std::uint32_t i = 0; i < 3; ++i) rack.on_sent(base + i * 100, base + (i + 1) * 100, start);
  EXPECT_FALSE(rack.tracking());
  auto verdict = rack.on_ack(base + 100, base + 300, {}, false, false, milliseconds(20), start + milliseconds(20));
  EXPECT_FALSE(verdict.lost_end);
  verdict = rack.on_ack(base + 300, base + 300, {}, false, false, milliseconds(20), start + milliseconds(20));
  EXPECT_TRUE(rack.tracking());
  EXPECT_EQ(verdict.lost_end, base + 300);
  rack.on_sent(base + 300, base + 400, start + milliseconds(21));
  EXPECT_EQ(rack.records(), 1u);
}

} // namespace
} // namespace morgana::net
