// Stored content sent by reference (Stream::write_shared): the bytes on the
// wire, the head sharing a segment with the body, and the body's owner held
// until the peer acknowledges it.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tcp_peer.h"

namespace morgana::net {
namespace {

using namespace tcp_test;
using std::chrono::seconds;

struct Body {
  SharedBytes shared;
  std::weak_ptr<const void> watch; // expires when the last holder lets go
};

Body make_body(std::size_t length, std::uint8_t seed) {
  auto owner = std::make_shared<const Frame>(frames::pattern(length, seed));
  return {{Bytes(*owner), owner}, owner};
}

// Starts writing `head` and `body` (the test keeps only its watch) and lets the stack send.
auto send_body(TcpPeer& peer, TcpStream& stream, Bytes head, Body& body) {
  auto writing = peer.start(stream.write_shared(head, std::move(body.shared), far_future));
  peer.settle();
  return writing;
}

Frame joined_payloads(const std::vector<SentSegment>& segments) {
  Frame joined;
  for (const auto& segment : segments) joined.insert(joined.end(), segment.payload.begin(), segment.payload.end());
  return joined;
}

TEST(TcpZeroCopy, ReferencedBodyGoesOnTheWireBehindItsHead) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 6000\r\n\r\n";
  auto body = make_body(6000, 7);
  auto writing = send_body(peer, *stream, as_bytes(head), body);
  ASSERT_TRUE(writing->has_value());
  ASSERT_TRUE(writing->value().has_value());
  // Only the send queue holds the body now.
  EXPECT_FALSE(body.watch.expired());
  auto sent = peer.take_noted();
  ASSERT_GE(sent.size(), 2u);
  // The head leaves in the body's first segment, not alone.
  EXPECT_EQ(sent[0].payload.size(), 1448u);
  peer.send_now(tcp_flag::ack);
  auto rest = peer.take_noted();
  sent.insert(sent.end(), rest.begin(), rest.end());
  Frame expected(reinterpret_cast<const std::byte*>(head.data()),
                 reinterpret_cast<const std::byte*>(head.data()) + head.size());
  auto pattern = frames::pattern(6000, 7);
  expected.insert(expected.end(), pattern.begin(), pattern.end());
  EXPECT_EQ(joined_payloads(sent), expected);
  EXPECT_FALSE(body.watch.expired()); // sent, not yet all acknowledged
  peer.send_now(tcp_flag::ack);
  EXPECT_TRUE(body.watch.expired());
  EXPECT_EQ(stream->stats().bytes_sent, expected.size());
}

// A retransmission is cut from the referenced body again, byte for byte.
TEST(TcpZeroCopy, RetransmissionIsCutFromTheBody) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto body = make_body(3000, 9);
  auto writing = send_body(peer, *stream, {}, body);
  auto first = peer.take();
  ASSERT_FALSE(first.empty());
  peer.run_for(seconds(2)); // no ACK: the retransmission timer fires
  auto again = peer.take();
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again[0].seq(), first[0].seq());
  EXPECT_EQ(again[0].payload, first[0].payload);
  auto pattern = frames::pattern(3000, 9);
  EXPECT_EQ(again[0].payload, Frame(pattern.begin(), pattern.begin() + static_cast<std::ptrdiff_t>(1448)));
  EXPECT_GE(stream->stats().retransmits, 1u);
  EXPECT_FALSE(body.watch.expired());
}

// Backpressure: a body larger than the send buffer is taken as ACKs make room,
// and arrives whole.
TEST(TcpZeroCopy, LargeBodyWaitsForRoomAndArrivesWhole) {
  TcpPeer peer;
  TcpListenOptions options;
  options.connection.send_buffer = 16 * 1024;
  auto stream = peer.establish(PeerOptions{}, options);
  ASSERT_TRUE(stream);
  auto body = make_body(100'000, 3);
  auto writing = send_body(peer, *stream, as_bytes("head"), body);
  Frame received;
  for (int round = 0; round < 200 && received.size() < 100'004; ++round) {
    auto before = peer.rcv_nxt;
    for (const auto& segment : peer.take()) {
      if (segment.seq() == peer.rcv_nxt)
        received.insert(received.end(), segment.payload.begin(), segment.payload.end());
      peer.note(segment);
    }
    EXPECT_LE(peer.rcv_nxt - before, 16 * 1024);
    if (round < 2) EXPECT_FALSE(writing->has_value());
    if (peer.rcv_nxt != before) peer.send_now(tcp_flag::ack);
    else peer.settle();
  }
  ASSERT_EQ(received.size(), 100'004u);
  EXPECT_EQ(as_string(Bytes(received).first(4)), "head");
  EXPECT_EQ(Frame(received.begin() + 4, received.end()), frames::pattern(100'000, 3));
  ASSERT_TRUE(writing->has_value());
  EXPECT_TRUE(writing->value().has_value());
  EXPECT_TRUE(body.watch.expired());
}

// Closing the connection before the ACK lets go of the body.
TEST(TcpZeroCopy, AbortLetsGoOfTheBody) {
  TcpPeer peer;
  auto stream = peer.establish();
  ASSERT_TRUE(stream);
  auto body = make_body(5000, 1);
  auto writing = send_body(peer, *stream, {}, body);
  EXPECT_FALSE(body.watch.expired());
  stream->abort();
  peer.settle();
  EXPECT_TRUE(body.watch.expired());
}

} // namespace
} // namespace morgana::net
