// Opening connections: passive and active open, refusal, timeouts, simultaneous open.

#include <gtest/gtest.h>

#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::uint16_t peer_port = 5000;

// RFC 9293 §3.5 figure 6: SYN -> SYN-ACK -> ACK; the SYN-ACK echoes what the SYN offered.
TEST(TcpHandshake, PassiveOpenEchoesOfferedOptions) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  auto syn = peer.syn(PeerOptions{});
  peer.inject(syn);
  peer.snd_nxt += 1;
  peer.settle();
  auto answer = peer.take();
  ASSERT_EQ(answer.size(), 1u);
  const auto& syn_ack = answer[0];
  EXPECT_TRUE(syn_ack.flags_are(tcp_flag::syn | tcp_flag::ack));
  EXPECT_EQ(syn_ack.ack(), SequenceNumber(1001));
  EXPECT_EQ(syn_ack.header.source_port, 80);
  EXPECT_EQ(syn_ack.header.destination_port, peer.port);
  EXPECT_TRUE(syn_ack.payload.empty());
  // RFC 9293 §3.7.1: MSS for a 1500-byte MTU.
  EXPECT_EQ(syn_ack.header.mss, 1460);
  // RFC 7323 §2.2: a 256 KiB buffer needs a shift of 3; the SYN's own window is never scaled.
  EXPECT_EQ(syn_ack.header.window_scale, 3);
  EXPECT_EQ(syn_ack.header.window, 65535);
  // RFC 2018 §2 and RFC 7323 §3.2: SACK-permitted, and TSecr echoes the SYN's TSval.
  EXPECT_TRUE(syn_ack.header.sack_permitted);
  ASSERT_TRUE(syn_ack.header.timestamps.has_value());
  EXPECT_EQ(syn_ack.header.timestamps->echo_reply, syn.timestamps->value);
  EXPECT_EQ(peer.listener->half_open(), 1u);
  EXPECT_EQ(peer.tcp().count_in_state(TcpState::syn_received), 1u);

  peer.timestamps = true;
  peer.note(syn_ack);
  peer.send_now(tcp_flag::ack);
  EXPECT_TRUE(peer.take().empty()); // RFC 9293 §3.10.7.4: the handshake's last ACK needs no answer
  EXPECT_EQ(peer.listener->half_open(), 0u);
  auto accepted = peer.accept();
  ASSERT_TRUE(accepted);
  auto& stream = *accepted;
  EXPECT_EQ(stream.state(), TcpState::established);
  EXPECT_EQ(stream.remote(), (Endpoint{TcpPeer::peer_address, peer.port}));
  EXPECT_EQ(stream.local(), (Endpoint{TcpPeer::our_address, 80}));
  // RFC 7323 §3.2: the sender's MSS leaves room for the 12 bytes of timestamps.
  EXPECT_EQ(stream.stats().send_mss, 1460u - 12u);
}

// RFC 7323 §1.3, RFC 2018 §2: options the SYN did not offer stay out of the SYN-ACK.
TEST(TcpHandshake, PassiveOpenOmitsOptionsNotOffered) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  auto syn_ack = peer.handshake(bare_options());
  ASSERT_TRUE(syn_ack.has_value());
  EXPECT_EQ(syn_ack->header.mss, 1460); // MSS is always sent (RFC 9293 §3.7.1)
  EXPECT_FALSE(syn_ack->header.window_scale.has_value());
  EXPECT_FALSE(syn_ack->header.sack_permitted);
  EXPECT_FALSE(syn_ack->header.timestamps.has_value());
  // RFC 7323 §2.2: without scaling the window field is the plain byte count.
  EXPECT_EQ(syn_ack->header.window, 65535);
  auto accepted = peer.accept();
  ASSERT_TRUE(accepted);
  // RFC 9293 §3.7.1: without the MSS option the sender assumes 536.
  EXPECT_EQ(accepted->stats().send_mss, 536u);

  // Without timestamps, data segments carry no options at all.
  ASSERT_TRUE(peer.write(*accepted, frames::pattern(10)));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.data_offset, TcpHeader::minimum_size);
  EXPECT_EQ(sent[0].header.window, 65535); // unscaled, capped at the field's size
}

// RFC 9293 §3.7.1: the smaller of the peer's MSS and our MTU's.
TEST(TcpHandshake, SendMssFollowsThePeersMss) {
  TcpPeer peer;
  PeerOptions options = bare_options();
  options.mss = 1000;
  auto stream = peer.establish(options);
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->stats().send_mss, 1000u);
}

// RFC 9293 §3.7.1: the MSS we offer is the MTU less 40 bytes of headers.
TEST(TcpHandshake, OfferedMssFollowsTheMtu) {
  TcpPeer peer(576);
  peer.listener = MUST(peer.tcp().listen(80));
  auto syn_ack = peer.handshake(bare_options());
  ASSERT_TRUE(syn_ack.has_value());
  EXPECT_EQ(syn_ack->header.mss, 576 - 40);
  auto stream = peer.accept();
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->stats().send_mss, 536u);
}

// RFC 9293 §3.5 figure 6 from the active side: SYN with our options, SYN-ACK, ACK.
TEST(TcpHandshake, ActiveOpen) {
  TcpPeer peer;
  peer.port = peer_port;
  auto outcome =
      peer.start(peer.tcp().connect({TcpPeer::peer_address, peer_port}, MonotonicClock::now() + seconds(10)));
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  auto syn = sent[0];
  EXPECT_TRUE(syn.flags_are(tcp_flag::syn));
  EXPECT_EQ(syn.header.destination_port, peer_port);
  EXPECT_GE(syn.header.source_port, 49152); // RFC 6335 §6: the dynamic range
  EXPECT_EQ(syn.header.mss, 1460);
  EXPECT_EQ(syn.header.window_scale, 3);
  EXPECT_TRUE(syn.header.sack_permitted);
  ASSERT_TRUE(syn.header.timestamps.has_value());
  EXPECT_EQ(syn.header.timestamps->echo_reply, 0u);
  EXPECT_EQ(peer.tcp().count_in_state(TcpState::syn_sent), 1u);
  EXPECT_FALSE(outcome->has_value());

  peer.stack_port = syn.header.source_port;
  peer.note(syn);
  auto syn_ack = peer.syn(PeerOptions{});
  syn_ack.flags |= tcp_flag::ack;
  syn_ack.acknowledgment = peer.rcv_nxt;
  syn_ack.timestamps->echo_reply = syn.header.timestamps->value;
  peer.inject(syn_ack);
  peer.snd_nxt += 1;
  peer.timestamps = true;
  peer.settle();
  sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::ack));
  EXPECT_EQ(sent[0].seq(), syn.seq() + 1);
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt);
  ASSERT_TRUE(sent[0].header.timestamps.has_value());
  EXPECT_EQ(sent[0].header.timestamps->echo_reply, syn_ack.timestamps->value);
  ASSERT_TRUE(outcome->has_value());
  ASSERT_TRUE(outcome->value().has_value());
  auto& stream = *outcome->value().value();
  EXPECT_EQ(stream.state(), TcpState::established);
  EXPECT_EQ(stream.remote(), (Endpoint{TcpPeer::peer_address, peer_port}));
}

// RFC 9293 §3.10.7.3: a RST with an acceptable ACK in SYN-SENT means "connection refused".
TEST(TcpHandshake, ConnectToClosedPortIsRefused) {
  TcpPeer peer;
  auto outcome =
      peer.start(peer.tcp().connect({TcpPeer::peer_address, peer_port}, MonotonicClock::now() + seconds(10)));
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  peer.port = peer_port;
  peer.stack_port = sent[0].header.source_port;
  frames::CounterWatch resets("tcp.resets_received");
  TcpHeader rst = peer.make(tcp_flag::rst | tcp_flag::ack);
  rst.sequence = SequenceNumber(0);
  rst.acknowledgment = sent[0].seq() + 1;
  peer.inject(rst);
  peer.settle();
  ASSERT_TRUE(outcome->has_value());
  ASSERT_FALSE(outcome->value().has_value());
  EXPECT_EQ(outcome->value().error().code, Errc::closed);
  EXPECT_EQ(resets.delta(), 1u);
  EXPECT_TRUE(peer.take().empty()); // never answer a RST
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// RFC 6298 §5.5: the SYN is sent again after 1 s, 2 s, 4 s...; the caller's deadline ends the wait.
TEST(TcpHandshake, ConnectTimesOutAtTheDeadline) {
  TcpPeer peer;
  auto start = MonotonicClock::now();
  auto outcome = peer.start(peer.tcp().connect({TcpPeer::peer_address, peer_port}, start + seconds(10)));
  peer.settle();
  auto first = peer.take();
  ASSERT_EQ(first.size(), 1u);
  for (auto retransmit_at : {seconds(1), seconds(3), seconds(7)}) {
    peer.run_for(start + retransmit_at - milliseconds(2) - MonotonicClock::now());
    EXPECT_TRUE(peer.take().empty()) << retransmit_at.count();
    peer.run_for(milliseconds(4));
    auto again = peer.take();
    ASSERT_EQ(again.size(), 1u) << retransmit_at.count();
    EXPECT_TRUE(again[0].flags_are(tcp_flag::syn));
    EXPECT_EQ(again[0].seq(), first[0].seq());
  }
  peer.run_for(start + seconds(10) - milliseconds(2) - MonotonicClock::now());
  EXPECT_FALSE(outcome->has_value());
  peer.run_for(milliseconds(4));
  ASSERT_TRUE(outcome->has_value());
  ASSERT_FALSE(outcome->value().has_value());
  EXPECT_EQ(outcome->value().error().code, Errc::timed_out);
  EXPECT_TRUE(peer.take().empty()); // nothing to reset: the peer never answered
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// RFC 9293 §3.8.3: without a deadline, the SYN is given up after its retries.
TEST(TcpHandshake, ConnectGivesUpAfterSynRetries) {
  TcpPeer peer;
  frames::CounterWatch timed_out("tcp.connections_timed_out");
  auto outcome = peer.start(peer.tcp().connect({TcpPeer::peer_address, peer_port}, far_future));
  peer.run_for(seconds(126));
  EXPECT_FALSE(outcome->has_value());
  EXPECT_EQ(peer.take().size(), 7u); // the SYN at 0, 1, 3, 7, 15, 31 and 63 s
  peer.run_for(seconds(2));
  ASSERT_TRUE(outcome->has_value());
  ASSERT_FALSE(outcome->value().has_value());
  EXPECT_EQ(outcome->value().error().code, Errc::timed_out);
  EXPECT_EQ(timed_out.delta(), 1u);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// RFC 9293 §3.5 figure 8: SYN in SYN-SENT -> SYN-RECEIVED (SYN-ACK sent), SYN-ACK -> ESTABLISHED.
TEST(TcpHandshake, SimultaneousOpen) {
  TcpPeer peer;
  peer.port = peer_port;
  auto outcome =
      peer.start(peer.tcp().connect({TcpPeer::peer_address, peer_port}, MonotonicClock::now() + seconds(10)));
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  auto our_syn = sent[0];
  peer.stack_port = our_syn.header.source_port;

  // The peer's own SYN crosses ours.
  auto peer_syn = peer.syn(PeerOptions{});
  peer.inject(peer_syn);
  peer.settle();
  sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::syn | tcp_flag::ack));
  EXPECT_EQ(sent[0].seq(), our_syn.seq());
  EXPECT_EQ(sent[0].ack(), peer.snd_nxt + 1);
  EXPECT_EQ(peer.tcp().count_in_state(TcpState::syn_received), 1u);
  EXPECT_FALSE(outcome->has_value());

  // The peer's SYN-ACK for our SYN: the SYN repeats, the ACK completes the handshake.
  peer.note(our_syn);
  peer.timestamps = true;
  auto syn_ack = peer.syn(PeerOptions{});
  syn_ack.flags |= tcp_flag::ack;
  syn_ack.acknowledgment = peer.rcv_nxt;
  peer.inject(syn_ack);
  peer.snd_nxt += 1;
  peer.settle();
  ASSERT_TRUE(outcome->has_value());
  ASSERT_TRUE(outcome->value().has_value());
  auto& stream = *outcome->value().value();
  EXPECT_EQ(stream.state(), TcpState::established);

  // Data flows both ways.
  (void)peer.take();
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(20));
  EXPECT_EQ(peer.read_now(stream), frames::pattern(20));
  ASSERT_TRUE(peer.write(stream, frames::pattern(30, 1)));
  auto data = with_data(peer.take());
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].seq(), our_syn.seq() + 1);
  EXPECT_EQ(data[0].payload, frames::pattern(30, 1));
}

// RFC 9293 §3.10.7.4: a repeated SYN in SYN-RECEIVED (our SYN-ACK was lost) gets the SYN-ACK again.
TEST(TcpHandshake, RepeatedSynGetsTheSynAckAgain) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  auto syn = peer.syn(PeerOptions{});
  peer.inject(syn);
  peer.settle();
  auto first = peer.take();
  ASSERT_EQ(first.size(), 1u);
  peer.inject(syn);
  peer.settle();
  auto second = peer.take();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_TRUE(second[0].flags_are(tcp_flag::syn | tcp_flag::ack));
  EXPECT_EQ(second[0].seq(), first[0].seq());
  EXPECT_EQ(second[0].ack(), first[0].ack());
  EXPECT_EQ(peer.tcp().connection_count(), 1u);
}

// RFC 6298 §5.5 for the SYN-ACK; RFC 9293 §3.8.3: a half-open connection is given up.
TEST(TcpHandshake, SynAckRetransmittedThenGivenUp) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  peer.inject(peer.syn(PeerOptions{}));
  peer.settle();
  auto first = peer.take();
  ASSERT_EQ(first.size(), 1u);
  peer.run_for(milliseconds(1010));
  auto again = peer.take();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].flags_are(tcp_flag::syn | tcp_flag::ack));
  EXPECT_EQ(again[0].seq(), first[0].seq());
  peer.run_for(seconds(200));
  EXPECT_EQ(peer.take().size(), 5u); // 3, 7, 15, 31 and 63 s
  EXPECT_EQ(peer.listener->half_open(), 0u);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// RFC 6298 §5.7: after a retransmitted SYN the RTO starts at 3 s, not 1 s.
TEST(TcpHandshake, RetransmittedSynRaisesTheFirstRto) {
  TcpPeer peer;
  peer.port = peer_port;
  auto outcome =
      peer.start(peer.tcp().connect({TcpPeer::peer_address, peer_port}, MonotonicClock::now() + seconds(10)));
  peer.run_for(milliseconds(1010));
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 2u);
  peer.stack_port = sent[0].header.source_port;
  peer.note(sent[0]);
  auto syn_ack = peer.syn(bare_options());
  syn_ack.flags |= tcp_flag::ack;
  syn_ack.acknowledgment = peer.rcv_nxt;
  peer.inject(syn_ack);
  peer.snd_nxt += 1;
  peer.settle();
  ASSERT_TRUE(outcome->has_value() && outcome->value().has_value());
  auto& stream = *outcome->value().value();
  EXPECT_GE(stream.stats().rto, seconds(3));
}

} // namespace
} // namespace morgana::net
