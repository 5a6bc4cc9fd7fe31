// Connection rings sized by the free memory, and refusals when there is none.

#include <gtest/gtest.h>

#include <string>

#include "morgana/core/counter.h"
#include "morgana/net/tcp_memory.h"
#include "sim.h"
#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::size_t kib = 1024;
constexpr std::size_t mib = 1024 * kib;

Bytes slice(const Frame& data, std::size_t offset, std::size_t length) { return Bytes(data).subspan(offset, length); }

std::uint64_t refused_count() { return Counter::find("tcp.no_memory_connections")->value(); }

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(TcpMemory, RingsShrinkByHalvesWithTheFreeMemory) {
  TcpConnectionOptions wanted;
  auto roomy = size_for_memory(wanted, {1024 * mib, 1024 * mib});
  ASSERT_TRUE(roomy);
  EXPECT_EQ(roomy->send_buffer, 256 * kib);
  EXPECT_EQ(roomy->receive_buffer, 256 * kib);
  // Each ring at most 1/16 of what is free, rounded down to a power of two.
  auto one_mib = size_for_memory(wanted, {8 * mib, 1 * mib});
  ASSERT_TRUE(one_mib);
  EXPECT_EQ(one_mib->send_buffer, 64 * kib);
  EXPECT_EQ(one_mib->receive_buffer, 64 * kib);
  auto uneven = size_for_memory(wanted, {8 * mib, 3 * mib + 700 * kib});
  ASSERT_TRUE(uneven);
  EXPECT_EQ(uneven->receive_buffer, 128 * kib);
  // Down to the floor, which still holds an initial window of ten segments.
  auto scarce = size_for_memory(wanted, {8 * mib, 120 * kib});
  ASSERT_TRUE(scarce);
  EXPECT_EQ(scarce->send_buffer, tcp_minimum_buffer);
  EXPECT_EQ(scarce->receive_buffer, tcp_minimum_buffer);
  // Below the floor's rings plus the reserve: refused.
  EXPECT_FALSE(size_for_memory(wanted, {8 * mib, 2 * tcp_minimum_buffer + tcp_memory_reserve - 1}));
  EXPECT_TRUE(size_for_memory(wanted, {8 * mib, 2 * tcp_minimum_buffer + tcp_memory_reserve}));
}

TEST(TcpMemory, SmallerRingsAskedForAreKept) {
  TcpConnectionOptions wanted;
  wanted.send_buffer = 4096;
  wanted.receive_buffer = 100 * kib;
  auto sized = size_for_memory(wanted, {1024 * mib, 1024 * mib});
  ASSERT_TRUE(sized);
  EXPECT_EQ(sized->send_buffer, 4096u);
  EXPECT_EQ(sized->receive_buffer, 100 * kib);
  // The small ring needs less to be admitted.
  auto scarce = size_for_memory(wanted, {8 * mib, 4096 + tcp_minimum_buffer + tcp_memory_reserve});
  ASSERT_TRUE(scarce);
  EXPECT_EQ(scarce->send_buffer, 4096u);
  EXPECT_EQ(scarce->receive_buffer, tcp_minimum_buffer);
}

// With 512 KiB free each ring is 32 KiB: the SYN-ACK offers that window
// unscaled, and data still goes both ways intact through the small rings.
TEST(TcpMemory, LittleMemoryGivesSmallRingsThatStillCarryData) {
  TcpPeer peer;
  sim::set_memory(8 * mib, 512 * kib);
  constexpr std::size_t ring = 32 * kib;
  peer.listener = MUST(peer.tcp().listen(80));
  auto syn_ack = peer.handshake();
  ASSERT_TRUE(syn_ack.has_value());
  // RFC 7323 §2.2: 32 KiB needs no scaling.
  EXPECT_EQ(syn_ack->header.window_scale, 0);
  EXPECT_EQ(syn_ack->header.window, ring);
  auto stream = peer.accept();
  ASSERT_TRUE(stream);

  // Into the stack: the peer fills the window without the application reading;
  // the window closes at exactly the ring's size.
  auto data = frames::pattern(200'000, 7);
  std::size_t offset = 0;
  while (offset < ring) {
    peer.send_now(tcp_flag::ack, slice(data, offset, 1024));
    offset += 1024;
  }
  peer.run_for(milliseconds(50));
  auto sent = peer.take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().ack(), peer.snd_nxt);
  EXPECT_EQ(sent.back().header.window, 0);
  Frame received = peer.read_now(*stream);
  EXPECT_EQ(received.size(), ring);
  while (offset < data.size()) {
    auto chunk = std::min<std::size_t>(1000, data.size() - offset);
    peer.send_now(tcp_flag::ack, slice(data, offset, chunk));
    offset += chunk;
    for (const auto& segment : peer.take()) EXPECT_LE(segment.header.window, ring);
    auto more = peer.read_now(*stream);
    received.insert(received.end(), more.begin(), more.end());
  }
  EXPECT_EQ(received, data);

  // Out of the stack: a write larger than the send ring waits for ACKs; one that fits does not.
  auto fits = peer.run(stream->write(frames::pattern(ring, 1), MonotonicClock::now() + milliseconds(100)));
  EXPECT_TRUE(fits.has_value());
  auto more = peer.run(stream->write(frames::pattern(1, 2), MonotonicClock::now() + milliseconds(100)));
  ASSERT_FALSE(more.has_value());
  EXPECT_EQ(more.error().code, Errc::timed_out);
  Frame expected = frames::pattern(ring, 1);
  auto rest = frames::pattern(150'000, 3);
  expected.insert(expected.end(), rest.begin(), rest.end());
  auto writing = peer.start(stream->write(rest, MonotonicClock::now() + seconds(60)));
  Frame delivered;
  for (int round = 0; round < 2000 && delivered.size() < expected.size(); ++round) {
    peer.settle();
    auto before = peer.rcv_nxt;
    for (const auto& segment : peer.take()) {
      if (segment.seq() == peer.rcv_nxt)
        delivered.insert(delivered.end(), segment.payload.begin(), segment.payload.end());
      peer.note(segment);
    }
    if (peer.rcv_nxt != before) peer.send_now(tcp_flag::ack);
    else peer.run_for(milliseconds(300));
  }
  EXPECT_EQ(delivered, expected);
  ASSERT_TRUE(writing->has_value());
  EXPECT_TRUE(writing->value().has_value());
}

// At exhaustion a SYN is dropped (the client retries), the refusal counted and
// logged at most once a second with how many were refused meanwhile; once
// memory is back the retried SYN is answered.
TEST(TcpMemory, RefusalsAreCountedAndLoggedOncePerSecond) {
  TcpPeer peer;
  sim::set_memory(8 * mib, 40 * kib);
  peer.listener = MUST(peer.tcp().listen(80));
  sim::clear_console();
  auto before = refused_count();
  EXPECT_FALSE(peer.handshake().has_value());
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(refused_count(), before + 1);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
  auto first_line = "tcp warn: refused a connection with 10.0.0.1:40000 for want of memory (40 KiB free of 8192 KiB); "
                    "1 refused since the last report, " +
                    std::to_string(before + 1) + " in all";
  EXPECT_NE(sim::console_output().find(first_line), std::string::npos) << sim::console_output();

  // More within the second: counted, not logged.
  for (std::uint16_t port = 40001; port <= 40003; ++port) {
    peer.port = port;
    EXPECT_FALSE(peer.handshake().has_value());
  }
  EXPECT_EQ(refused_count(), before + 4);
  EXPECT_EQ(count_of(sim::console_output(), "refused a connection"), 1u);

  // A second later the next refusal is logged with the ones in between.
  peer.run_for(seconds(1));
  peer.port = 40004;
  EXPECT_FALSE(peer.handshake().has_value());
  EXPECT_EQ(count_of(sim::console_output(), "refused a connection"), 2u);
  EXPECT_NE(sim::console_output().find("with 10.0.0.1:40004 for want of memory (40 KiB free of 8192 KiB); 4 refused "
                                       "since the last report, " +
                                       std::to_string(before + 5) + " in all"),
            std::string::npos)
      << sim::console_output();

  // Memory is back: the client's retransmitted SYN gets its SYN-ACK.
  sim::set_memory(8 * mib, 4 * mib);
  peer.snd_nxt -= 1;
  auto syn_ack = peer.handshake();
  ASSERT_TRUE(syn_ack.has_value());
  EXPECT_EQ(refused_count(), before + 5);
  EXPECT_TRUE(peer.accept());
}

// An active open without memory fails at once with no_memory, sends nothing and is counted.
TEST(TcpMemory, ActiveOpenWithoutMemoryFails) {
  TcpPeer peer;
  sim::set_memory(8 * mib, 10 * kib);
  auto before = refused_count();
  auto connected = peer.run(peer.tcp().connect({TcpPeer::peer_address, 5000}, MonotonicClock::now() + seconds(5)));
  ASSERT_FALSE(connected.has_value());
  EXPECT_EQ(connected.error().code, Errc::no_memory);
  EXPECT_TRUE(peer.take().empty());
  EXPECT_EQ(refused_count(), before + 1);
  EXPECT_EQ(peer.tcp().connection_count(), 0u);
}

// Memory that runs out between the SYN and the handshake's last ACK does not
// reset the connection: it gets the smallest rings and carries data.
TEST(TcpMemory, MemoryScarceAtTheHandshakesEndStillEstablishes) {
  TcpPeer peer;
  peer.listener = MUST(peer.tcp().listen(80));
  peer.inject(peer.syn(PeerOptions{}));
  peer.snd_nxt += 1;
  peer.settle();
  auto answer = peer.take();
  ASSERT_EQ(answer.size(), 1u);
  EXPECT_EQ(answer[0].header.window_scale, 3); // 256 KiB offered while memory was plentiful
  peer.timestamps = true;
  peer.note(answer[0]);
  sim::set_memory(8 * mib, 20 * kib);
  auto before = refused_count();
  peer.send_now(tcp_flag::ack);
  EXPECT_TRUE(peer.take().empty());
  auto stream = peer.accept();
  ASSERT_TRUE(stream);
  EXPECT_EQ(refused_count(), before);
  auto data = frames::pattern(tcp_minimum_buffer, 4);
  for (std::size_t offset = 0; offset < data.size(); offset += 1024)
    peer.send_now(tcp_flag::ack, slice(data, offset, 1024));
  peer.run_for(milliseconds(50));
  auto sent = peer.take();
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.back().ack(), peer.snd_nxt);
  EXPECT_EQ(peer.read_now(*stream), data);
}

} // namespace
} // namespace morgana::net
