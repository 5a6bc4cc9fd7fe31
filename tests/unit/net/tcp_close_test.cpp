// Closing connections: active, passive (half-close), simultaneous; TIME-WAIT and freeing.

#include <optional>

#include <gtest/gtest.h>

#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using std::chrono::milliseconds;
using std::chrono::seconds;

// RFC 9293 §3.6 figure 12: FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT -> CLOSED after 2 MSL.
TEST(TcpClose, ActiveCloseThroughTimeWait) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  frames::CounterWatch freed("tcp.connections_freed");
  ASSERT_TRUE(stream->shutdown().has_value());
  peer.settle();
  auto sent = peer.take_noted();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].has(tcp_flag::fin | tcp_flag::ack));
  EXPECT_TRUE(sent[0].payload.empty());
  EXPECT_EQ(stream->state(), TcpState::fin_wait_1);

  peer.send_now(tcp_flag::ack);
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(stream->state(), TcpState::fin_wait_2);

  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
  EXPECT_EQ(stream->state(), TcpState::time_wait);
  std::byte buffer[16];
  auto read = peer.run(stream->read(buffer, MonotonicClock::now()));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, 0u); // end of stream

  // The application lets go; the connection stays in TIME-WAIT for 2 MSL.
  stream.reset();
  peer.run_for(peer.tcp().time_wait() - milliseconds(10));
  EXPECT_EQ(peer.tcp().connection_count(), 1u);
  EXPECT_EQ(peer.tcp().count_in_state(TcpState::time_wait), 1u);
  EXPECT_EQ(freed.delta(), 0u);
  peer.run_for(milliseconds(20));
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
  EXPECT_EQ(freed.delta(), 1u);
  EXPECT_TRUE(peer.take().empty());
}

// RFC 9293 §3.10.7.4: a retransmitted FIN in TIME-WAIT is acknowledged again.
TEST(TcpClose, TimeWaitAcksARetransmittedFin) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  ASSERT_TRUE(stream->shutdown().has_value());
  peer.settle();
  (void)peer.take_noted();
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  (void)peer.take();
  ASSERT_EQ(stream->state(), TcpState::time_wait);
  peer.snd_nxt -= 1;
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
  EXPECT_EQ(stream->state(), TcpState::time_wait);
}

// Shuts down, then the peer's FIN crosses ours (it does not acknowledge ours
// yet): CLOSING, the crossing FIN acknowledged. Returns our FIN, or nullopt.
std::optional<SentSegment> cross_fins(TcpPeer& peer, TcpStream& stream) {
  if (!stream.shutdown().has_value()) return std::nullopt;
  peer.settle();
  auto our_fin = peer.take();
  if (our_fin.size() != 1 || !our_fin[0].has(tcp_flag::fin)) return std::nullopt;
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  auto sent = peer.take();
  bool acked = sent.size() == 1 && sent[0].has(tcp_flag::ack) && sent[0].ack() == peer.snd_nxt;
  if (!acked || stream.state() != TcpState::closing) return std::nullopt;
  return our_fin[0];
}

// RFC 9293 §3.6 figure 13: FIN in FIN-WAIT-1 -> CLOSING; the ACK of our FIN -> TIME-WAIT.
TEST(TcpClose, SimultaneousClose) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto our_fin = cross_fins(peer, *stream);
  ASSERT_TRUE(our_fin);
  peer.note(*our_fin);
  peer.send_now(tcp_flag::ack);
  EXPECT_EQ(stream->state(), TcpState::time_wait);
  stream.reset();
  peer.run_for(peer.tcp().time_wait() + milliseconds(10));
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// After crossing FINs the peer (slirp does this) resends its FIN with the ACK
// of ours: the segment is old, but its ACK counts (as in Linux), so CLOSING ends
// at once instead of our FIN waiting for its retransmission timeout.
TEST(TcpClose, ResentFinCarryingTheAckOfOursEndsClosing) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto our_fin = cross_fins(peer, *stream);
  ASSERT_TRUE(our_fin);
  frames::CounterWatch unacceptable("tcp.unacceptable_segments");
  peer.note(*our_fin);
  peer.snd_nxt -= 1; // the same FIN again
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  EXPECT_EQ(unacceptable.delta(), 1u); // old: its text and FIN are not taken again
  EXPECT_EQ(stream->state(), TcpState::time_wait);
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u); // the duplicate is acknowledged
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
  // Our FIN is not sent again.
  peer.run_for(seconds(3));
  for (const auto& segment : peer.take()) EXPECT_FALSE(segment.has(tcp_flag::fin));
}

// RFC 9293 §3.6: FIN and the ACK of our FIN in one segment go from FIN-WAIT-1 straight to TIME-WAIT.
TEST(TcpClose, FinAckingOurFinGoesToTimeWait) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  ASSERT_TRUE(stream->shutdown().has_value());
  peer.settle();
  (void)peer.take_noted();
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  EXPECT_EQ(stream->state(), TcpState::time_wait);
}

// RFC 9293 §3.6 and §3.10.4: after the peer's FIN reads end, writes go on, then our FIN -> LAST-ACK -> CLOSED.
TEST(TcpClose, HalfCloseByThePeer) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(10));
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  auto sent = peer.take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().ack(), peer.snd_nxt); // the FIN is acknowledged at once
  EXPECT_EQ(stream->state(), TcpState::close_wait);
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(10));
  std::byte buffer[16];
  auto read = peer.run(stream->read(buffer, MonotonicClock::now() + seconds(1)));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, 0u);

  ASSERT_TRUE(peer.write(*stream, frames::pattern(100, 7)));
  auto data = with_data(peer.take_noted());
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].payload, frames::pattern(100, 7));
  EXPECT_EQ(data[0].ack(), peer.snd_nxt);

  ASSERT_TRUE(stream->shutdown().has_value());
  peer.settle();
  sent = peer.take_noted();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].has(tcp_flag::fin));
  EXPECT_EQ(stream->state(), TcpState::last_ack);
  peer.send_now(tcp_flag::ack);
  EXPECT_EQ(stream->state(), TcpState::closed);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
  EXPECT_TRUE(peer.take().empty());
}

// RFC 6298 §5.4 for the FIN: it is retransmitted until acknowledged.
TEST(TcpClose, FinIsRetransmitted) {
  TcpPeer peer;
  auto stream = peer.establish(PeerOptions{1000, std::nullopt, false, false});
  ASSERT_TRUE(stream);
  ASSERT_TRUE(stream->shutdown().has_value());
  peer.settle();
  auto fin = peer.take();
  ASSERT_EQ(fin.size(), 1u);
  peer.run_for(milliseconds(1010));
  auto again = peer.take();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].has(tcp_flag::fin | tcp_flag::ack));
  EXPECT_EQ(again[0].seq(), fin[0].seq());
  peer.note(again[0]);
  peer.send_now(tcp_flag::ack);
  EXPECT_EQ(stream->state(), TcpState::fin_wait_2);
  peer.run_for(seconds(10));
  EXPECT_TRUE(peer.take().empty());
}

// RFC 9293 §3.10.7.4 eighth step: a FIN beyond a gap waits until the data before it arrives.
TEST(TcpClose, OutOfOrderFinWaitsForTheGap) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto base = peer.snd_nxt;
  TcpHeader fin = peer.make(tcp_flag::fin | tcp_flag::ack);
  fin.sequence = base + 100;
  peer.inject(fin, frames::pattern(50, 1));
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ack(), base);
  EXPECT_EQ(stream->state(), TcpState::established);
  peer.send_now(tcp_flag::ack, frames::pattern(100));
  sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ack(), base + 151);
  EXPECT_EQ(stream->state(), TcpState::close_wait);
  Frame expected = frames::pattern(100);
  auto tail = frames::pattern(50, 1);
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_EQ(peer.read_now(*stream), expected);
}

// RFC 9293 §3.10.4: the FIN follows the data queued before shutdown; writes after it fail.
TEST(TcpClose, FinFollowsQueuedData) {
  TcpPeer peer;
  auto stream = peer.establish(bare_options());
  ASSERT_TRUE(stream);
  // A zero window keeps the data queued.
  peer.window = 0;
  peer.send_now(tcp_flag::ack);
  ASSERT_TRUE(peer.write(*stream, frames::pattern(300)));
  ASSERT_TRUE(stream->shutdown().has_value());
  EXPECT_FALSE(peer.write(*stream, frames::pattern(1)));
  EXPECT_TRUE(with_data(peer.take()).empty());
  peer.window = 65535;
  peer.send_now(tcp_flag::ack);
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].payload, frames::pattern(300));
  EXPECT_TRUE(sent[0].has(tcp_flag::fin | tcp_flag::ack));
}

// write_last: the response and the FIN in one segment (FIN|PSH|ACK with the
// data), not the data and then a FIN of its own; writes after it fail.
TEST(TcpClose, WriteLastPutsTheFinOnTheData) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto head = frames::pattern(40, 1);
  auto body = frames::pattern(200, 2);
  ASSERT_TRUE(peer.run(stream->write_last(head, SharedBytes{.data = body}, MonotonicClock::now())));
  peer.settle();
  auto sent = peer.take_noted();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::fin | tcp_flag::psh | tcp_flag::ack));
  Frame expected = head;
  expected.insert(expected.end(), body.begin(), body.end());
  EXPECT_EQ(sent[0].payload, expected);
  EXPECT_EQ(stream->state(), TcpState::fin_wait_1);
  EXPECT_FALSE(peer.write(*stream, frames::pattern(1)));
  ASSERT_TRUE(stream->shutdown().has_value()); // the server's close after it: nothing more to send
  peer.settle();
  EXPECT_TRUE(peer.take().empty());
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  EXPECT_EQ(stream->state(), TcpState::time_wait);
}

// After the peer's FIN (HTTP close by the client): data and FIN together, LAST-ACK.
TEST(TcpClose, WriteLastInCloseWait) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  (void)peer.take();
  ASSERT_EQ(stream->state(), TcpState::close_wait);
  ASSERT_TRUE(peer.run(stream->write_last(frames::pattern(100, 3), {}, MonotonicClock::now())));
  peer.settle();
  auto sent = peer.take_noted();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].has(tcp_flag::fin | tcp_flag::ack));
  EXPECT_EQ(sent[0].payload, frames::pattern(100, 3));
  EXPECT_EQ(stream->state(), TcpState::last_ack);
  peer.send_now(tcp_flag::ack);
  EXPECT_EQ(stream->state(), TcpState::closed);
}

// An orphaned connection does not wait forever in FIN-WAIT-2 (as Linux's tcp_fin_timeout).
TEST(TcpClose, OrphanedFinWait2TimesOut) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  frames::CounterWatch freed("tcp.connections_freed");
  stream.reset(); // the application closes: FIN
  peer.settle();
  auto sent = peer.take_noted();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].has(tcp_flag::fin));
  peer.send_now(tcp_flag::ack);
  EXPECT_EQ(peer.tcp().count_in_state(TcpState::fin_wait_2), 1u);
  peer.run_for(seconds(61));
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
  EXPECT_EQ(freed.delta(), 1u);
}

// RFC 2525 §2.17: closing with unread data resets the connection.
TEST(TcpClose, ReleaseWithUnreadDataResets) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(10));
  (void)peer.take();
  stream.reset();
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].has(tcp_flag::rst));
  EXPECT_EQ(sent[0].seq(), peer.rcv_nxt);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// RFC 2525 §2.17 (as Linux does): data arriving after the application closed is answered with RST.
TEST(TcpClose, DataAfterCloseResets) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  frames::CounterWatch after_close("tcp.data_after_close");
  stream.reset();
  peer.settle();
  (void)peer.take_noted();
  peer.send_now(tcp_flag::ack);
  ASSERT_EQ(peer.tcp().count_in_state(TcpState::fin_wait_2), 1u);
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(10));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].has(tcp_flag::rst));
  EXPECT_EQ(after_close.delta(), 1u);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// RFC 9293 §3.10.5: abort sends RST and fails later reads and writes.
TEST(TcpClose, AbortSendsRst) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  stream->abort();
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::rst));
  EXPECT_EQ(sent[0].seq(), peer.rcv_nxt);
  EXPECT_EQ(stream->state(), TcpState::closed);
  EXPECT_FALSE(peer.write(*stream, frames::pattern(1)));
  std::byte buffer[4];
  EXPECT_FALSE(peer.run(stream->read(buffer, MonotonicClock::now())).has_value());
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

} // namespace
} // namespace morgana::net
