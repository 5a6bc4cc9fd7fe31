// Resets, challenge ACKs and unacceptable segments (RFC 9293 §3.10.7, RFC 5961).

#include <gtest/gtest.h>

#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::uint16_t peer_port = 5000;

// Starts connect() and returns the SYN the stack sent; the peer is set up to answer it.
SentSegment start_connect(TcpPeer& peer, Outcome<Result<std::unique_ptr<TcpStream>>>& outcome) {
  peer.port = peer_port;
  outcome = peer.start(peer.tcp().connect({TcpPeer::peer_address, peer_port}, MonotonicClock::now() + seconds(30)));
  peer.settle();
  auto sent = peer.take();
  if (sent.size() != 1) platform::abort("test: connect sent no SYN");
  peer.stack_port = sent[0].header.source_port;
  return sent[0];
}

// RFC 9293 §3.10.7.3: in SYN-SENT a RST without an acceptable ACK is dropped.
TEST(TcpRst, SynSentIgnoresRstWithoutAcceptableAck) {
  TcpPeer peer;
  Outcome<Result<std::unique_ptr<TcpStream>>> outcome;
  auto syn = start_connect(peer, outcome);
  TcpHeader rst = peer.make(tcp_flag::rst | tcp_flag::ack);
  rst.acknowledgment = syn.seq() + 100;
  peer.inject(rst);
  rst.flags = tcp_flag::rst;
  peer.inject(rst);
  peer.settle();
  EXPECT_TRUE(peer.take().empty());
  EXPECT_FALSE(outcome->has_value());
  EXPECT_EQ(peer.tcp().count_in_state(TcpState::syn_sent), 1u);
}

// RFC 9293 §3.10.7.3: an unacceptable ACK in SYN-SENT is answered with <SEQ=SEG.ACK><CTL=RST>.
TEST(TcpRst, SynSentResetsAnUnacceptableAck) {
  TcpPeer peer;
  Outcome<Result<std::unique_ptr<TcpStream>>> outcome;
  auto syn = start_connect(peer, outcome);
  TcpHeader syn_ack = peer.make(tcp_flag::syn | tcp_flag::ack);
  syn_ack.acknowledgment = syn.seq() + 5;
  peer.inject(syn_ack);
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::rst));
  EXPECT_EQ(sent[0].seq(), syn.seq() + 5);
  EXPECT_FALSE(outcome->has_value());
  EXPECT_EQ(peer.tcp().count_in_state(TcpState::syn_sent), 1u);
}

// RFC 9293 §3.10.7.4: a RST in SYN-RECEIVED from a passive open returns to LISTEN.
TEST(TcpRst, SynReceivedGoesBackToListen) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  peer.inject(peer.syn(PeerOptions{}));
  peer.snd_nxt += 1;
  peer.settle();
  auto syn_ack = peer.take();
  ASSERT_EQ(syn_ack.size(), 1u);
  ASSERT_EQ(peer.listener->half_open(), 1u);
  peer.send_now(tcp_flag::rst);
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(peer.listener->half_open(), 0u);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
  // The listener takes the next connection as before.
  peer.port += 1;
  ASSERT_TRUE(peer.establish());
}

// RFC 5961 §3.2: a RST whose sequence number is exactly RCV.NXT resets; reads then fail.
TEST(TcpRst, ExactRstResetsAnEstablishedConnection) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  frames::CounterWatch resets("tcp.resets_received");
  std::byte buffer[16];
  auto read = peer.start(stream->read(buffer, MonotonicClock::now() + seconds(10)));
  peer.settle();
  EXPECT_FALSE(read->has_value());
  peer.send_now(tcp_flag::rst);
  EXPECT_TRUE(peer.take().empty()); // a RST is never answered
  ASSERT_TRUE(read->has_value());
  ASSERT_FALSE(read->value().has_value());
  EXPECT_EQ(read->value().error().code, Errc::closed);
  EXPECT_EQ(stream->state(), TcpState::closed);
  EXPECT_FALSE(peer.write(*stream, frames::pattern(4)));
  EXPECT_EQ(resets.delta(), 1u);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// RFC 9293 §3.10.7.4 second check: an exact RST ends the connection in every synchronized
// state. Reads then fail with "connection reset", unless the peer's FIN already ended them.
TEST(TcpRst, ExactRstInEachSynchronizedState) {
  struct Case {
    TcpState state;
    bool read_fails;
  };
  for (auto [state, read_fails] :
       {Case{TcpState::fin_wait_1, true}, Case{TcpState::fin_wait_2, true}, Case{TcpState::close_wait, false},
        Case{TcpState::closing, false}, Case{TcpState::last_ack, false}, Case{TcpState::time_wait, false}}) {
    TcpPeer peer;
    auto stream = peer.establish();
    ASSERT_TRUE(stream);
    bool we_close = state != TcpState::close_wait && state != TcpState::last_ack;
    if (we_close) {
      ASSERT_TRUE(stream->shutdown().has_value());
      peer.settle();
      auto fin = peer.take();
      ASSERT_EQ(fin.size(), 1u);
      if (state == TcpState::fin_wait_2 || state == TcpState::time_wait) peer.note(fin[0]);
      if (state != TcpState::fin_wait_1 && state != TcpState::fin_wait_2) peer.send(tcp_flag::fin | tcp_flag::ack);
      else if (state == TcpState::fin_wait_2) peer.send(tcp_flag::ack);
    } else {
      peer.send(tcp_flag::fin | tcp_flag::ack);
      peer.settle();
      if (state == TcpState::last_ack) ASSERT_TRUE(stream->shutdown().has_value());
    }
    peer.settle();
    (void)peer.take();
    ASSERT_EQ(stream->state(), state) << state_name(state);
    peer.send_now(tcp_flag::rst);
    EXPECT_TRUE(peer.take().empty()) << state_name(state);
    EXPECT_EQ(stream->state(), TcpState::closed) << state_name(state);
    EXPECT_EQ(peer.tcp().connection_count(), 0u) << state_name(state);
    std::byte buffer[4];
    auto read = peer.run(stream->read(buffer, MonotonicClock::now()));
    if (read_fails) {
      ASSERT_FALSE(read.has_value()) << state_name(state);
      EXPECT_EQ(read.error().code, Errc::closed) << state_name(state);
    } else {
      ASSERT_TRUE(read.has_value()) << state_name(state);
      EXPECT_EQ(*read, 0u) << state_name(state);
    }
  }
}

// A pending write fails when the connection is reset under it.
TEST(TcpRst, ResetFailsAPendingWrite) {
  TcpPeer peer;
  TcpListenOptions options;
  options.connection.send_buffer = 1000;
  auto stream = peer.establish(PeerOptions{}, options);
  ASSERT_TRUE(stream);
  auto data = frames::pattern(5000);
  auto writing = peer.start(stream->write(data, MonotonicClock::now() + seconds(10)));
  peer.settle();
  EXPECT_FALSE(writing->has_value());
  peer.send_now(tcp_flag::rst);
  ASSERT_TRUE(writing->has_value());
  ASSERT_FALSE(writing->value().has_value());
  EXPECT_EQ(writing->value().error().code, Errc::closed);
}

// RFC 5961 §3.2: a RST in the window but not at RCV.NXT gets a challenge ACK; the connection stays.
TEST(TcpRst, InWindowRstGetsAChallengeAck) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  frames::CounterWatch challenges("tcp.challenge_acks");
  TcpHeader rst = peer.make(tcp_flag::rst);
  rst.sequence = peer.snd_nxt + 1000;
  peer.inject(rst);
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
  EXPECT_EQ(sent[0].seq(), peer.rcv_nxt);
  EXPECT_EQ(challenges.delta(), 1u);
  EXPECT_EQ(stream->state(), TcpState::established);
}

// RFC 9293 §3.10.7.4 first check: a RST outside the window is dropped silently.
TEST(TcpRst, OutOfWindowRstIsDropped) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  for (std::uint32_t offset : {0x10000000u, 0xfffffff0u}) {
    TcpHeader rst = peer.make(tcp_flag::rst | tcp_flag::ack);
    rst.sequence = peer.snd_nxt + offset;
    peer.inject(rst);
  }
  peer.settle();
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(stream->state(), TcpState::established);
}

// RFC 5961 §4.2: a SYN on a synchronized connection gets a challenge ACK, whatever its sequence number.
TEST(TcpRst, SynInEstablishedGetsAChallengeAck) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  frames::CounterWatch challenges("tcp.challenge_acks");
  peer.inject(peer.make(tcp_flag::syn));
  TcpHeader later = peer.make(tcp_flag::syn | tcp_flag::ack);
  later.sequence = peer.snd_nxt + 10;
  peer.inject(later);
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& segment : sent) {
    EXPECT_TRUE(segment.flags_are(tcp_flag::ack));
    EXPECT_EQ(segment.ack(), peer.snd_nxt);
  }
  EXPECT_EQ(challenges.delta(), 2u);
  EXPECT_EQ(stream->state(), TcpState::established);
  // Nothing was taken from the SYNs: data at RCV.NXT still arrives in order.
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(5));
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(5));
}

// RFC 9293 §3.10.7.4 fifth check: an ACK for data never sent is answered with an ACK and the segment dropped.
TEST(TcpRst, AckForUnsentDataIsAckedAndDropped) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  frames::CounterWatch bad_acks("tcp.bad_acks");
  TcpHeader header = peer.make(tcp_flag::ack | tcp_flag::psh);
  header.acknowledgment = peer.rcv_nxt + 1000;
  peer.inject(header, frames::pattern(8));
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt); // the data was not taken
  EXPECT_EQ(bad_acks.delta(), 1u);
  EXPECT_TRUE(peer.read_now(*stream).empty());
  EXPECT_EQ(stream->state(), TcpState::established);
}

// RFC 5961 §5.2: an ACK older than SND.UNA - MAX.SND.WND gets a challenge ACK and is dropped.
TEST(TcpRst, AncientAckGetsAChallengeAck) {
  TcpPeer peer;
  auto stream = peer.establish(bare_options());
  ASSERT_TRUE(stream);
  frames::CounterWatch challenges("tcp.challenge_acks");
  TcpHeader header = peer.make(tcp_flag::ack | tcp_flag::psh);
  header.acknowledgment = peer.rcv_nxt - 0x40000000;
  peer.inject(header, frames::pattern(8));
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
  EXPECT_EQ(challenges.delta(), 1u);
  EXPECT_TRUE(peer.read_now(*stream).empty());
}

// RFC 9293 §3.10.7.1: CLOSED answers everything but RST with RST.
TEST(TcpRst, ClosedPortAnswersWithRst) {
  TcpPeer peer;
  frames::CounterWatch closed_port("tcp.closed_port");
  // No ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  peer.inject(peer.syn(PeerOptions{}));
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::rst | tcp_flag::ack));
  EXPECT_EQ(sent[0].seq(), SequenceNumber(0));
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt + 1);
  EXPECT_EQ(sent[0].header.source_port, peer.stack_port);
  EXPECT_EQ(sent[0].header.destination_port, peer.port);

  // Data without ACK: the length counts.
  peer.inject(peer.make(tcp_flag::fin), frames::pattern(10));
  peer.settle();
  sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt + 11);

  // With ACK: <SEQ=SEG.ACK><CTL=RST>.
  peer.rcv_nxt = SequenceNumber(0x12345678);
  peer.inject(peer.make(tcp_flag::ack), frames::pattern(3));
  peer.settle();
  sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::rst));
  EXPECT_EQ(sent[0].seq(), SequenceNumber(0x12345678));

  // A RST is never answered.
  peer.inject(peer.make(tcp_flag::rst | tcp_flag::ack));
  peer.settle();
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(closed_port.delta(), 3u);
}

// RFC 9293 §3.10.7.2: a listener answers an ACK with RST and ignores RST.
TEST(TcpRst, ListenerResetsAcksAndIgnoresRst) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  peer.rcv_nxt = SequenceNumber(777);
  peer.send_now(tcp_flag::ack);
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::rst));
  EXPECT_EQ(sent[0].seq(), SequenceNumber(777));
  peer.send_now(tcp_flag::rst);
  peer.send_now(tcp_flag::fin);
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

} // namespace
} // namespace morgana::net
