// TIME-WAIT: what a closing connection keeps (its rings go once data transfer
// is over) and a new SYN for the same ports opening a new incarnation (RFC 6191).

#include <gtest/gtest.h>

#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The application closes first; the peer acknowledges our FIN and sends its own.
void close_into_time_wait(TcpPeer& peer, TcpStream& stream) {
  ASSERT_TRUE(stream.shutdown().has_value());
  peer.settle();
  auto fin = peer.take_noted();
  ASSERT_EQ(fin.size(), 1u);
  ASSERT_TRUE(fin[0].has(tcp_flag::fin));
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  auto ack = peer.take();
  ASSERT_EQ(ack.size(), 1u);
  ASSERT_EQ(ack[0].ack(), peer.snd_nxt);
  ASSERT_EQ(stream.state(), TcpState::time_wait);
}

// The stack sends `size` bytes; the peer acknowledges until all are.
void send_all(TcpPeer& peer, TcpStream& stream, std::size_t size) {
  ASSERT_TRUE(peer.write(stream, frames::pattern(size)));
  std::size_t received = 0;
  for (int round = 0; round < 200 && received < size; ++round) {
    for (const auto& segment : peer.take_noted()) received += segment.payload.size();
    peer.send_now(tcp_flag::ack);
  }
  ASSERT_EQ(received, size);
}

// A short request-response exchange as with HTTP `Connection: close`: the
// server closes first, so every connection ends in TIME-WAIT on our side. None
// keeps its rings there.
TEST(TcpFinishedBuffers, TimeWaitKeepsNoRings) {
  TcpPeer peer;
  constexpr int connections = 64;
  for (int i = 0; i < connections; ++i) {
    peer.port = static_cast<std::uint16_t>(40000 + i);
    peer.snd_nxt = SequenceNumber(1000 + 7919 * static_cast<std::uint32_t>(i));
    auto stream = peer.establish();
    ASSERT_TRUE(stream);
    EXPECT_EQ(stream->state(), TcpState::established);
    peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(100, 1));
    EXPECT_EQ(peer.read_now(*stream), frames::pattern(100, 1));
    send_all(peer, *stream, 3000);
    close_into_time_wait(peer, *stream);
    stream.reset();
  }
  EXPECT_EQ(peer.tcp().count_in_state(TcpState::time_wait), std::size_t{connections});
  EXPECT_EQ(peer.tcp().buffer_bytes(), 0u);

  // A live connection still gets its rings.
  peer.port = 50000;
  auto live = peer.establish();
  ASSERT_TRUE(live);
  EXPECT_EQ(peer.tcp().buffer_bytes(), 2 * TcpConnectionOptions{}.receive_buffer + TcpSendQueue::piece_table_memory());
  peer.run_for(peer.tcp().time_wait() + seconds(1), seconds(5));
  EXPECT_EQ(peer.tcp().connection_count(), 1u);
}

// Unread data survives TIME-WAIT until the application reads it; then the ring goes.
TEST(TcpFinishedBuffers, UnreadDataStaysUntilRead) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  ASSERT_TRUE(stream->shutdown().has_value());
  peer.settle();
  (void)peer.take_noted();
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(500, 3));
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  ASSERT_EQ(stream->state(), TcpState::time_wait);
  // The send ring went with the ACK of our FIN; the receive ring holds the data.
  EXPECT_EQ(peer.tcp().buffer_bytes(), TcpConnectionOptions{}.receive_buffer);
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(500, 3));
  EXPECT_EQ(peer.tcp().buffer_bytes(), 0u);
  // A retransmitted FIN is still acknowledged, with RCV.NXT kept.
  (void)peer.take();
  peer.snd_nxt -= 1;
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
}

// CLOSE-WAIT and LAST-ACK: the receive ring goes once the peer's FIN came and
// all was read; the send ring stays until our FIN is acknowledged.
TEST(TcpFinishedBuffers, PassiveCloseFreesEachRingWhenDone) {
  TcpPeer peer;
  auto stream = peer.establish(bare_options());
  ASSERT_TRUE(stream);
  auto ring = TcpConnectionOptions{}.receive_buffer;
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(200));
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  ASSERT_EQ(stream->state(), TcpState::close_wait);
  // The send queue's piece table goes with its ring.
  auto send_queue = ring + TcpSendQueue::piece_table_memory();
  EXPECT_EQ(peer.tcp().buffer_bytes(), ring + send_queue);
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(200));
  EXPECT_EQ(peer.tcp().buffer_bytes(), send_queue);

  // Writing goes on in CLOSE-WAIT, and the FIN is retransmitted with its data.
  (void)peer.take_noted();
  ASSERT_TRUE(peer.write(*stream, frames::pattern(100, 5)));
  ASSERT_TRUE(stream->shutdown().has_value());
  peer.settle();
  EXPECT_EQ(stream->state(), TcpState::last_ack);
  auto first = peer.take();
  ASSERT_FALSE(first.empty());
  peer.run_for(milliseconds(1100));
  auto again = peer.take();
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again[0].seq(), first[0].seq());
  EXPECT_EQ(again[0].payload, frames::pattern(100, 5));
  EXPECT_TRUE(again[0].has(tcp_flag::fin));
  EXPECT_EQ(peer.tcp().buffer_bytes(), send_queue);
  for (const auto& segment : again) peer.note(segment);
  peer.send_now(tcp_flag::ack);
  EXPECT_EQ(stream->state(), TcpState::closed);
  EXPECT_EQ(peer.tcp().buffer_bytes(), 0u);
}

// A reset connection the application still holds keeps only the unread data.
TEST(TcpFinishedBuffers, ResetConnectionKeepsOnlyUnreadData) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(50));
  (void)peer.take_noted();
  peer.send_now(tcp_flag::rst);
  ASSERT_EQ(stream->state(), TcpState::closed);
  EXPECT_EQ(peer.tcp().buffer_bytes(), TcpConnectionOptions{}.receive_buffer);
  std::byte buffer[64];
  auto read = peer.run(stream->read(buffer, MonotonicClock::now()));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, 50u);
  EXPECT_EQ(peer.tcp().buffer_bytes(), 0u);
  EXPECT_FALSE(peer.run(stream->read(buffer, MonotonicClock::now())).has_value());
}

// TIME-WAIT reached through a connection whose peer offered `options`; returns
// the stack's SND.MAX, and leaves the peer's SND.NXT at the stack's RCV.NXT.
SequenceNumber reach_time_wait(TcpPeer& peer, std::unique_ptr<TcpStream>& stream, const PeerOptions& options,
                               std::size_t data = 1000) {
  stream = peer.establish(options);
  EXPECT_TRUE(stream);
  if (!stream) return {};
  send_all(peer, *stream, data);
  close_into_time_wait(peer, *stream);
  return peer.rcv_nxt;
}

// The new SYN's answer: one SYN-ACK of a new connection the listener accepts.
std::unique_ptr<TcpStream> reopen(TcpPeer& peer, const PeerOptions& options, SequenceNumber old_snd_max) {
  auto syn_ack = peer.handshake(options);
  EXPECT_TRUE(syn_ack.has_value());
  if (!syn_ack) return nullptr;
  // RFC 1122 §4.2.2.13: the new ISS lies beyond the old incarnation's numbers.
  EXPECT_GT(syn_ack->seq(), old_snd_max);
  auto stream = peer.accept();
  EXPECT_TRUE(stream);
  if (!stream) return nullptr;
  EXPECT_EQ(stream->state(), TcpState::established);
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(20, 9));
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(20, 9));
  return stream;
}

// The SYN is answered as before: an ACK for RCV.NXT, and TIME-WAIT goes on.
void expect_plain_ack(TcpPeer& peer, const TcpHeader& syn, SequenceNumber rcv_nxt) {
  peer.inject(syn);
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), rcv_nxt);
  EXPECT_EQ(peer.tcp().count_in_state(TcpState::time_wait), 1u);
  EXPECT_EQ(peer.listener->half_open(), 0u);
}

// RFC 6191 §2 without timestamps: a sequence number beyond the last RCV.NXT opens anew.
TEST(TcpTimeWaitReopen, HigherSequenceOpensANewConnection) {
  TcpPeer peer;
  frames::CounterWatch reopened("tcp.time_wait_reopened");
  std::unique_ptr<TcpStream> old;
  auto old_snd_max = reach_time_wait(peer, old, bare_options());
  ASSERT_TRUE(old);
  old.reset();
  peer.snd_nxt += 100000;
  auto stream = reopen(peer, bare_options(), old_snd_max);
  ASSERT_TRUE(stream);
  EXPECT_EQ(reopened.delta(), 1u);
  EXPECT_EQ(peer.tcp().count_in_state(TcpState::time_wait), 0u);
  EXPECT_EQ(peer.tcp().connection_count(), 1u);
}

// RFC 6191 §2: a sequence number at or before the last RCV.NXT, without
// timestamps, may be an old duplicate: ACK as before (RFC 9293 §3.10.7.4).
TEST(TcpTimeWaitReopen, OldSequenceIsAnsweredWithAnAck) {
  TcpPeer peer;
  frames::CounterWatch reopened("tcp.time_wait_reopened");
  std::unique_ptr<TcpStream> old;
  (void)reach_time_wait(peer, old, bare_options());
  ASSERT_TRUE(old);
  auto rcv_nxt = peer.snd_nxt;
  auto syn = peer.syn(bare_options());
  expect_plain_ack(peer, syn, rcv_nxt);
  syn.sequence = rcv_nxt - 5000;
  expect_plain_ack(peer, syn, rcv_nxt);
  EXPECT_EQ(reopened.delta(), 0u);
  EXPECT_EQ(old->state(), TcpState::time_wait);
}

// RFC 6191 §2 with timestamps: a newer TSval opens anew even with a lower sequence number.
TEST(TcpTimeWaitReopen, NewerTimestampOpensDespiteLowerSequence) {
  TcpPeer peer;
  std::unique_ptr<TcpStream> old;
  auto old_snd_max = reach_time_wait(peer, old, PeerOptions{});
  ASSERT_TRUE(old);
  peer.run_for(milliseconds(20));
  peer.snd_nxt -= 50000;
  auto stream = reopen(peer, PeerOptions{}, old_snd_max);
  ASSERT_TRUE(stream);
  // The application's old stream sees its connection closed; the new one goes on alone.
  EXPECT_EQ(old->state(), TcpState::closed);
  old.reset();
  EXPECT_EQ(peer.tcp().connection_count(), 1u);
  ASSERT_TRUE(peer.write(*stream, frames::pattern(30)));
  auto data = with_data(peer.take_noted());
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].payload, frames::pattern(30));
}

// RFC 6191 §2 with timestamps: an older TSval is refused even with a higher
// sequence number; an equal one needs a higher sequence number.
TEST(TcpTimeWaitReopen, TimestampsDecideBeforeSequence) {
  TcpPeer peer;
  std::unique_ptr<TcpStream> old;
  auto old_snd_max = reach_time_wait(peer, old, PeerOptions{});
  ASSERT_TRUE(old);
  auto rcv_nxt = peer.snd_nxt;
  auto last_tsval = peer.ts_value() - 1; // the peer's FIN went out about 1 ms ago (settle)
  auto syn = peer.syn(PeerOptions{});
  syn.sequence = rcv_nxt + 100000;
  syn.timestamps->value = last_tsval - 100;
  expect_plain_ack(peer, syn, rcv_nxt);
  syn.timestamps->value = last_tsval;
  syn.sequence = rcv_nxt - 1;
  expect_plain_ack(peer, syn, rcv_nxt);

  syn.sequence = rcv_nxt + 1;
  peer.inject(syn);
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::syn | tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), syn.sequence + 1);
  EXPECT_GT(sent[0].seq(), old_snd_max);
  EXPECT_EQ(peer.listener->half_open(), 1u);
}

// RFC 6191 §2: timestamps on the old incarnation, none in the SYN: the sequence number decides.
TEST(TcpTimeWaitReopen, SynWithoutTimestampsFallsBackToSequence) {
  TcpPeer peer;
  std::unique_ptr<TcpStream> old;
  auto old_snd_max = reach_time_wait(peer, old, PeerOptions{});
  ASSERT_TRUE(old);
  auto rcv_nxt = peer.snd_nxt;
  auto syn = peer.syn(bare_options());
  syn.sequence = rcv_nxt - 1;
  expect_plain_ack(peer, syn, rcv_nxt);
  peer.snd_nxt = rcv_nxt + 1;
  ASSERT_TRUE(reopen(peer, bare_options(), old_snd_max));
}

// The RFC 6528 clock moves 250 000 numbers a second: after a fast transfer the
// ISS it gives is still inside the old incarnation's space, and is moved past it.
TEST(TcpTimeWaitReopen, NewIssLiesBeyondAFastOldConnection) {
  TcpPeer peer;
  std::unique_ptr<TcpStream> old;
  auto old_snd_max = reach_time_wait(peer, old, bare_options(), 60000);
  ASSERT_TRUE(old);
  old.reset();
  peer.snd_nxt += 1;
  ASSERT_TRUE(reopen(peer, bare_options(), old_snd_max));
}

// Without a listener on the port (it closed, or we opened actively), the SYN gets the ACK.
TEST(TcpTimeWaitReopen, NoListenerKeepsTimeWait) {
  TcpPeer peer;
  std::unique_ptr<TcpStream> old;
  (void)reach_time_wait(peer, old, bare_options());
  ASSERT_TRUE(old);
  peer.listener.reset();
  auto rcv_nxt = peer.snd_nxt;
  auto syn = peer.syn(bare_options());
  syn.sequence = rcv_nxt + 100000;
  peer.inject(syn);
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), rcv_nxt);
  EXPECT_EQ(old->state(), TcpState::time_wait);
}

// A TIME-WAIT connection no longer counts against the listener's limit; a full
// listener keeps TIME-WAIT rather than answer with a SYN cookie.
TEST(TcpTimeWaitReopen, FullListenerKeepsTimeWait) {
  TcpPeer peer;
  TcpListenOptions listen_options;
  listen_options.max_connections = 1;
  peer.listener = MUST(peer.tcp().listen(peer.stack_port, listen_options));
  std::unique_ptr<TcpStream> old;
  (void)reach_time_wait(peer, old, bare_options());
  ASSERT_TRUE(old);
  auto rcv_nxt = peer.snd_nxt;
  auto first_port = peer.port;
  peer.port = static_cast<std::uint16_t>(first_port + 1);
  auto other = peer.establish(bare_options());
  ASSERT_TRUE(other);
  peer.port = first_port;
  auto syn = peer.syn(bare_options());
  syn.sequence = rcv_nxt + 100000;
  expect_plain_ack(peer, syn, rcv_nxt);
  EXPECT_EQ(old->state(), TcpState::time_wait);
}

} // namespace
} // namespace morgana::net
