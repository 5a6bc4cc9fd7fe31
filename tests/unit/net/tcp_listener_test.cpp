// Listeners: ports, the backlog bound, SYN floods, accept.

#include <gtest/gtest.h>

#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(TcpListener, RefusesPortZeroAndPortsInUse) {
  TcpPeer peer;
  auto zero = peer.tcp().listen(0);
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().code, Errc::invalid_argument);
  auto first = peer.tcp().listen(80);
  ASSERT_TRUE(first.has_value());
  auto second = peer.tcp().listen(80);
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::in_use);
  first->reset();
  EXPECT_TRUE(peer.tcp().listen(80).has_value());
}

// accept() waits for a connection, or fails at its deadline.
TEST(TcpListener, AcceptWaitsUntilTheDeadline) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  auto waiting = peer.start(peer.listener->accept(MonotonicClock::now() + seconds(5)));
  peer.run_for(seconds(1));
  EXPECT_FALSE(waiting->has_value());
  ASSERT_TRUE(peer.handshake().has_value());
  ASSERT_TRUE(waiting->has_value());
  ASSERT_TRUE(waiting->value().has_value());
  EXPECT_EQ(waiting->value().value()->remote(), (Endpoint{TcpPeer::peer_address, peer.port}));

  auto late = peer.run(peer.listener->accept(MonotonicClock::now() + seconds(1)));
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code, Errc::timed_out);
}

// Connections are accepted in the order their handshakes completed.
TEST(TcpListener, AcceptsInOrder) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  for (std::uint16_t port : {40001, 40002, 40003}) {
    peer.port = port;
    peer.snd_nxt = SequenceNumber(port * 1000u);
    ASSERT_TRUE(peer.handshake().has_value());
  }
  for (std::uint16_t port : {40001, 40002, 40003}) {
    auto stream = peer.accept();
    ASSERT_TRUE(stream);
    EXPECT_EQ(stream->remote().port, port);
  }
  EXPECT_FALSE(peer.accept());
}

// Data (and FIN) that arrive before the application calls accept() wait for it; the
// connection is not mistaken for one the application closed (RFC 2525 §2.17 is for those).
TEST(TcpListener, DataBeforeAcceptWaitsForTheApplication) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  frames::CounterWatch after_close("tcp.data_after_close");
  ASSERT_TRUE(peer.handshake().has_value());
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(100));
  peer.send_now(tcp_flag::fin | tcp_flag::ack);
  peer.run_for(milliseconds(50));
  for (const auto& segment : peer.take()) EXPECT_FALSE(segment.has(tcp_flag::rst));
  EXPECT_EQ(after_close.delta(), 0u);
  auto stream = peer.accept();
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->state(), TcpState::close_wait);
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(100));
}

// RFC 9293 §3.10.7.4: the ACK that completes the handshake may carry data.
TEST(TcpListener, HandshakeAckMayCarryData) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  peer.inject(peer.syn(PeerOptions{}));
  peer.snd_nxt += 1;
  peer.settle();
  auto syn_ack = peer.take();
  ASSERT_EQ(syn_ack.size(), 1u);
  peer.timestamps = true;
  peer.note(syn_ack[0]);
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(50));
  peer.run_for(milliseconds(50));
  auto sent = peer.take();
  ASSERT_FALSE(sent.empty());
  EXPECT_FALSE(sent.back().has(tcp_flag::rst));
  EXPECT_EQ(sent.back().ack(), peer.snd_nxt);
  auto stream = peer.accept();
  ASSERT_TRUE(stream);
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(50));
}

// RFC 9293 §3.10.7.4: in SYN-RECEIVED an ACK of something we never sent is answered with RST.
TEST(TcpListener, BadAckInSynReceivedGetsRst) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  peer.inject(peer.syn(PeerOptions{}));
  peer.snd_nxt += 1;
  peer.settle();
  auto syn_ack = peer.take();
  ASSERT_EQ(syn_ack.size(), 1u);
  peer.timestamps = true;
  peer.rcv_nxt = syn_ack[0].seq() + 5;
  peer.send_now(tcp_flag::ack);
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].flags_are(tcp_flag::rst));
  EXPECT_EQ(sent[0].seq(), syn_ack[0].seq() + 5);
  EXPECT_EQ(peer.listener->half_open(), 1u);
  // The right ACK still completes the handshake.
  peer.rcv_nxt = syn_ack[0].seq() + 1;
  peer.send_now(tcp_flag::ack);
  EXPECT_TRUE(peer.accept());
}

// RFC 4987 §3.6: beyond the backlog, SYNs are answered with a SYN cookie and no state;
// a valid cookie in the client's ACK makes the connection, a forged one is reset.
TEST(TcpListener, BeyondTheBacklogSynCookiesKeepNoState) {
  TcpPeer peer;
  TcpListenOptions options;
  options.backlog = 4;
  peer.listener = MUST(peer.tcp().listen(80, options));
  frames::CounterWatch cookies("tcp.syn_cookies_sent");
  frames::CounterWatch restored("tcp.syn_cookies_accepted");
  std::vector<SentSegment> syn_acks;
  for (std::uint16_t port = 41000; port < 41006; ++port) {
    peer.port = port;
    PeerOptions offered;
    offered.window_scale = 7;
    offered.sack_permitted = true;
    peer.inject(peer.syn(offered));
    peer.settle();
    auto sent = peer.take();
    ASSERT_EQ(sent.size(), 1u);
    syn_acks.push_back(sent[0]);
  }
  EXPECT_EQ(cookies.delta(), 2u);
  EXPECT_EQ(peer.listener->half_open(), 4u);
  EXPECT_EQ(peer.tcp().connection_count(), 4u);
  // A cookie SYN-ACK offers the MSS only.
  EXPECT_TRUE(syn_acks[5].header.mss.has_value());
  EXPECT_FALSE(syn_acks[5].header.window_scale.has_value());
  EXPECT_FALSE(syn_acks[5].header.sack_permitted);

  // A forged ACK (a wrong cookie) finds nothing and is reset.
  peer.port = 41004;
  peer.snd_nxt = SequenceNumber(1001);
  peer.note(syn_acks[4]);
  peer.rcv_nxt = syn_acks[4].seq() + 2;
  peer.send_now(tcp_flag::ack);
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].has(tcp_flag::rst));
  EXPECT_EQ(restored.delta(), 0u);
  // The real ACK restores the connection, with data on it.
  peer.port = 41005;
  peer.note(syn_acks[5]);
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(10));
  auto stream = peer.accept();
  ASSERT_TRUE(stream);
  EXPECT_EQ(restored.delta(), 1u);
  EXPECT_EQ(stream->remote().port, 41005);
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(10));
}

// A SYN flood from random ports keeps the table bounded, and a real client still gets through.
TEST(TcpListener, SynFloodStaysBoundedAndRealClientsConnect) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  frames::CounterWatch cookies("tcp.syn_cookies_sent");
  frames::CounterWatch freed("tcp.connections_freed");
  // Distinct pseudo-random ports (7919 is prime to 38000) and sequence numbers.
  std::uint32_t sent_syns = 0;
  auto random_port = [&] { return static_cast<std::uint16_t>(1024 + (sent_syns * 7919u) % 38000u); };
  std::size_t most = 0;
  auto flood = [&](int count) {
    for (int i = 0; i < count; ++i) {
      TcpHeader syn;
      syn.source_port = random_port(); // never the real client's
      syn.destination_port = 80;
      syn.sequence = SequenceNumber(sent_syns++ * 2654435761u);
      syn.flags = tcp_flag::syn;
      syn.window = 1024;
      syn.mss = 1460;
      peer.inject(syn);
      if (i % 50 == 49) {
        peer.settle();
        (void)peer.take();
        most = std::max(most, peer.tcp().connection_count());
      }
    }
    peer.settle();
    (void)peer.take();
  };
  flood(5000);
  // A real client's handshake completes in the middle of the flood.
  peer.port = 39999;
  ASSERT_TRUE(peer.handshake().has_value());
  flood(5000);
  most = std::max(most, peer.tcp().connection_count());
  // The backlog's 128 half-open connections, plus the real client's.
  EXPECT_LE(most, 129u);
  // Only the first SYNs made half-open connections; the rest were answered with cookies.
  EXPECT_GE(cookies.delta(), 10000u - 128u);
  auto stream = peer.accept();
  ASSERT_TRUE(stream);
  EXPECT_EQ(stream->remote().port, 39999);
  EXPECT_EQ(stream->state(), TcpState::established);
  peer.send_now(tcp_flag::ack | tcp_flag::psh, frames::pattern(10));
  EXPECT_EQ(peer.read_now(*stream), frames::pattern(10));
  // The half-open connections time out and are freed.
  peer.run_for(seconds(200));
  EXPECT_EQ(peer.tcp().connection_count(), 1u);
  EXPECT_EQ(freed.delta(), 128u);
}

// max_connections bounds established connections; SYNs beyond it are dropped (counted).
TEST(TcpListener, MaxConnectionsDropsFurtherSyns) {
  TcpPeer peer;
  TcpListenOptions options;
  options.max_connections = 2;
  peer.listener = MUST(peer.tcp().listen(80, options));
  frames::CounterWatch dropped("tcp.syn_dropped");
  for (std::uint16_t port : {40001, 40002}) {
    peer.port = port;
    ASSERT_TRUE(peer.handshake().has_value());
  }
  peer.port = 40003;
  peer.inject(peer.syn(PeerOptions{}));
  peer.settle();
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(dropped.delta(), 1u);
  EXPECT_EQ(peer.tcp().connection_count(), 2u);
}

// Destroying a listener resets the connections nobody accepted; accepted ones live on.
TEST(TcpListener, DestroyingTheListenerResetsUnacceptedConnections) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  peer.port = 40001;
  ASSERT_TRUE(peer.handshake().has_value());
  auto accepted = peer.accept();
  ASSERT_TRUE(accepted);
  peer.port = 40002;
  ASSERT_TRUE(peer.handshake().has_value());
  peer.port = 40003;
  peer.inject(peer.syn(PeerOptions{}));
  peer.settle();
  (void)peer.take();
  EXPECT_EQ(peer.tcp().connection_count(), 3u);
  peer.listener.reset();
  peer.settle();
  auto sent = peer.take();
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& rst : sent) EXPECT_TRUE(rst.has(tcp_flag::rst));
  EXPECT_EQ(peer.tcp().connection_count(), 1u);
  EXPECT_EQ(accepted->state(), TcpState::established);
  // The port is free again; a SYN to it now finds nothing.
  peer.port = 40004;
  peer.inject(peer.syn(PeerOptions{}));
  peer.settle();
  sent = peer.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(sent[0].has(tcp_flag::rst));
}

} // namespace
} // namespace morgana::net
