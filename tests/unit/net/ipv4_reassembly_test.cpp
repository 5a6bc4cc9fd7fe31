#include "morgana/net/ipv4_reassembly.h"

#include <gtest/gtest.h>

#include <vector>

#include "morgana/core/counter.h"

namespace morgana::net {
namespace {

constexpr auto source_address = Ipv4Address::from_octets(10, 0, 0, 1);
constexpr auto destination_address = Ipv4Address::from_octets(10, 0, 0, 2);
constexpr Instant start{std::chrono::seconds(100)};

Ipv4Header fragment_header(std::uint16_t identification, std::uint16_t offset, bool more_fragments) {
  Ipv4Header header;
  header.identification = identification;
  header.fragment_offset = offset;
  header.more_fragments = more_fragments;
  header.protocol = ip_protocol::udp;
  header.source = source_address;
  header.destination = destination_address;
  return header;
}

// A datagram payload whose bytes differ by position and by `seed`.
std::vector<std::byte> datagram_bytes(std::size_t length, std::uint8_t seed = 0) {
  std::vector<std::byte> bytes(length);
  for (std::size_t i = 0; i < length; ++i) bytes[i] = std::byte(static_cast<std::uint8_t>(i * 7 + seed));
  return bytes;
}

Bytes slice(const std::vector<std::byte>& bytes, std::size_t offset, std::size_t length) {
  return Bytes(bytes).subspan(offset, length);
}

using AddResult = Result<std::optional<PacketBuffer>>;

AddResult add_slice(Ipv4Reassembler& reassembler, std::uint16_t identification, const std::vector<std::byte>& whole,
                    std::size_t offset, std::size_t length, Instant now = start) {
  bool more = offset + length < whole.size();
  return reassembler.add(fragment_header(identification, static_cast<std::uint16_t>(offset), more),
                         slice(whole, offset, length), now);
}

void expect_pending(const AddResult& result) {
  ASSERT_TRUE(result.has_value()) << result.error().context;
  EXPECT_FALSE(result->has_value());
}

void expect_complete(const AddResult& result, const std::vector<std::byte>& whole) {
  ASSERT_TRUE(result.has_value()) << result.error().context;
  ASSERT_TRUE(result->has_value());
  const PacketBuffer& packet = **result;
  EXPECT_EQ(packet.headroom(), PacketBuffer::default_headroom);
  ASSERT_EQ(packet.size(), whole.size());
  EXPECT_TRUE(std::equal(whole.begin(), whole.end(), packet.data().begin()));
}

void expect_error(const AddResult& result, Errc code, std::string_view context) {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, code);
  EXPECT_EQ(result.error().context, context);
}

TEST(Ipv4Reassembly, InOrder) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(100);
  expect_pending(add_slice(reassembler, 1, whole, 0, 32));
  expect_pending(add_slice(reassembler, 1, whole, 32, 40));
  EXPECT_EQ(reassembler.in_progress(), 1u);
  expect_complete(add_slice(reassembler, 1, whole, 72, 28), whole);
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, ReverseOrder) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(1500);
  expect_pending(add_slice(reassembler, 1, whole, 1480, 20));
  expect_pending(add_slice(reassembler, 1, whole, 960, 520));
  expect_pending(add_slice(reassembler, 1, whole, 480, 480));
  expect_complete(add_slice(reassembler, 1, whole, 0, 480), whole);
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, MiddleFragmentLast) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(24);
  expect_pending(add_slice(reassembler, 1, whole, 0, 8));
  expect_pending(add_slice(reassembler, 1, whole, 16, 8));
  expect_complete(add_slice(reassembler, 1, whole, 8, 8), whole);
}

TEST(Ipv4Reassembly, InterleavedDatagrams) {
  Ipv4Reassembler reassembler;
  auto first = datagram_bytes(48, 1);
  auto second = datagram_bytes(48, 2);
  expect_pending(add_slice(reassembler, 7, first, 0, 16));
  expect_pending(add_slice(reassembler, 8, second, 32, 16));
  expect_pending(add_slice(reassembler, 7, first, 32, 16));
  expect_pending(add_slice(reassembler, 8, second, 0, 16));
  EXPECT_EQ(reassembler.in_progress(), 2u);
  expect_complete(add_slice(reassembler, 7, first, 16, 16), first);
  EXPECT_EQ(reassembler.in_progress(), 1u);
  expect_complete(add_slice(reassembler, 8, second, 16, 16), second);
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, InterleavedDatagramsBothComplete) {
  Ipv4Reassembler reassembler;
  auto first = datagram_bytes(32, 1);
  auto second = datagram_bytes(32, 2);
  expect_pending(add_slice(reassembler, 7, first, 16, 16));
  expect_pending(add_slice(reassembler, 8, second, 16, 16));
  expect_complete(add_slice(reassembler, 8, second, 0, 16), second);
  expect_complete(add_slice(reassembler, 7, first, 0, 16), first);
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, DifferentIdentificationNotMixed) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(32);
  expect_pending(add_slice(reassembler, 1, whole, 0, 16));
  expect_pending(add_slice(reassembler, 2, whole, 16, 16));
  EXPECT_EQ(reassembler.in_progress(), 2u);
}

// RFC 791 §3.2: the key is source, destination, protocol and identification together.
TEST(Ipv4Reassembly, EveryKeyFieldSeparatesDatagrams) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(32);
  expect_pending(reassembler.add(fragment_header(1, 0, true), slice(whole, 0, 16), start));

  auto other_source = fragment_header(1, 16, false);
  other_source.source = Ipv4Address::from_octets(10, 0, 0, 9);
  expect_pending(reassembler.add(other_source, slice(whole, 16, 16), start));

  auto other_destination = fragment_header(1, 16, false);
  other_destination.destination = Ipv4Address::from_octets(10, 0, 0, 9);
  expect_pending(reassembler.add(other_destination, slice(whole, 16, 16), start));

  auto other_protocol = fragment_header(1, 16, false);
  other_protocol.protocol = ip_protocol::tcp;
  expect_pending(reassembler.add(other_protocol, slice(whole, 16, 16), start));

  EXPECT_EQ(reassembler.in_progress(), 4u);
  expect_complete(reassembler.add(fragment_header(1, 16, false), slice(whole, 16, 16), start), whole);
  EXPECT_EQ(reassembler.in_progress(), 3u);
}

TEST(Ipv4Reassembly, PartialOverlapDropsDatagram) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(48);
  expect_pending(add_slice(reassembler, 1, whole, 0, 16));
  expect_error(add_slice(reassembler, 1, whole, 8, 16), Errc::malformed, "overlapping fragments");
  EXPECT_EQ(reassembler.in_progress(), 0u);
  // The rest arrives, but the first piece went with the dropped datagram.
  expect_pending(add_slice(reassembler, 1, whole, 16, 32));
  EXPECT_EQ(reassembler.in_progress(), 1u);
}

TEST(Ipv4Reassembly, OverlapWithLaterPieceDropsDatagram) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(48);
  expect_pending(add_slice(reassembler, 1, whole, 16, 16));
  expect_error(add_slice(reassembler, 1, whole, 8, 16), Errc::malformed, "overlapping fragments");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, FragmentCoveringAnotherDropsDatagram) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(48);
  expect_pending(add_slice(reassembler, 1, whole, 16, 8));
  expect_error(add_slice(reassembler, 1, whole, 8, 24), Errc::malformed, "overlapping fragments");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, SameRangeDifferentBytesDropsDatagram) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(32);
  auto forged = datagram_bytes(32, 99);
  expect_pending(add_slice(reassembler, 1, whole, 0, 16));
  expect_error(add_slice(reassembler, 1, forged, 0, 16), Errc::malformed, "overlapping fragments");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, ExactDuplicateIgnored) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(40);
  expect_pending(add_slice(reassembler, 1, whole, 0, 16));
  expect_pending(add_slice(reassembler, 1, whole, 0, 16));
  expect_pending(add_slice(reassembler, 1, whole, 32, 8));
  expect_pending(add_slice(reassembler, 1, whole, 32, 8));
  EXPECT_EQ(reassembler.in_progress(), 1u);
  expect_complete(add_slice(reassembler, 1, whole, 16, 16), whole);
  // A duplicate after completion starts a new datagram rather than completing again.
  expect_pending(add_slice(reassembler, 1, whole, 16, 16));
  EXPECT_EQ(reassembler.in_progress(), 1u);
}

TEST(Ipv4Reassembly, DuplicatesDoNotCountTowardsFragmentLimit) {
  Ipv4Reassembler reassembler({.max_fragments = 2});
  auto whole = datagram_bytes(32);
  for (int i = 0; i < 10; ++i) expect_pending(add_slice(reassembler, 1, whole, 0, 16));
  expect_complete(add_slice(reassembler, 1, whole, 16, 16), whole);
}

TEST(Ipv4Reassembly, TooManyFragmentsDropsDatagram) {
  Ipv4Reassembler reassembler({.max_fragments = 4});
  auto whole = datagram_bytes(64);
  for (std::size_t offset = 0; offset < 32; offset += 8) expect_pending(add_slice(reassembler, 1, whole, offset, 8));
  expect_error(add_slice(reassembler, 1, whole, 32, 8), Errc::limit_reached, "too many fragments");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, ExactlyMaxFragmentsCompletes) {
  Ipv4Reassembler reassembler({.max_fragments = 4});
  auto whole = datagram_bytes(32);
  for (std::size_t offset = 0; offset < 24; offset += 8) expect_pending(add_slice(reassembler, 1, whole, offset, 8));
  expect_complete(add_slice(reassembler, 1, whole, 24, 8), whole);
}

TEST(Ipv4Reassembly, TooLargeDropsDatagram) {
  Ipv4Reassembler reassembler({.max_payload = 64});
  auto whole = datagram_bytes(72);
  expect_pending(add_slice(reassembler, 1, whole, 0, 32));
  expect_error(add_slice(reassembler, 1, whole, 64, 8), Errc::limit_reached, "reassembled datagram too large");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, TooLargeFirstFragmentStartsNothing) {
  Ipv4Reassembler reassembler({.max_payload = 64});
  auto whole = datagram_bytes(72);
  expect_error(add_slice(reassembler, 1, whole, 56, 16), Errc::limit_reached, "reassembled datagram too large");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, ExactlyMaxPayloadCompletes) {
  Ipv4Reassembler reassembler({.max_payload = 64});
  auto whole = datagram_bytes(64);
  expect_pending(add_slice(reassembler, 1, whole, 32, 32));
  expect_complete(add_slice(reassembler, 1, whole, 0, 32), whole);
}

// The largest offset the header can carry, with default limits (65535 - 20 bytes of payload).
TEST(Ipv4Reassembly, DefaultLimitRejectsPingOfDeath) {
  Ipv4Reassembler reassembler;
  auto piece = datagram_bytes(16);
  expect_error(reassembler.add(fragment_header(1, 65528, false), piece, start), Errc::limit_reached,
               "reassembled datagram too large");
  auto whole = datagram_bytes(65515);
  expect_pending(add_slice(reassembler, 2, whole, 65512, 3));
  expect_pending(add_slice(reassembler, 2, whole, 0, 32768));
  expect_complete(add_slice(reassembler, 2, whole, 32768, 32744), whole);
}

TEST(Ipv4Reassembly, MoreFragmentsWithLengthNotMultipleOfEightIsMalformed) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(40);
  expect_pending(add_slice(reassembler, 1, whole, 0, 16));
  expect_error(reassembler.add(fragment_header(1, 16, true), slice(whole, 16, 12), start), Errc::malformed,
               "fragment length not a multiple of 8");
  // Only the bad fragment is dropped; the datagram still completes.
  EXPECT_EQ(reassembler.in_progress(), 1u);
  expect_complete(add_slice(reassembler, 1, whole, 16, 24), whole);
}

TEST(Ipv4Reassembly, EmptyFragmentIsMalformed) {
  Ipv4Reassembler reassembler;
  expect_error(reassembler.add(fragment_header(1, 8, true), Bytes{}, start), Errc::malformed, "empty fragment");
  expect_error(reassembler.add(fragment_header(1, 8, false), Bytes{}, start), Errc::malformed, "empty fragment");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, SecondLastFragmentWithDifferentEndIsMalformed) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(64);
  expect_pending(reassembler.add(fragment_header(1, 40, false), slice(whole, 40, 8), start));
  expect_error(reassembler.add(fragment_header(1, 48, false), slice(whole, 48, 16), start), Errc::malformed,
               "last fragments disagree on the end");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, RepeatedLastFragmentWithSameEndIsADuplicate) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(24);
  expect_pending(add_slice(reassembler, 1, whole, 16, 8));
  expect_pending(add_slice(reassembler, 1, whole, 16, 8));
  expect_complete(add_slice(reassembler, 1, whole, 0, 16), whole);
}

// The piece that ends the datagram came first with MF set; its copy without MF completes it.
TEST(Ipv4Reassembly, DuplicateWithoutMoreFragmentsCompletes) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(16);
  expect_pending(reassembler.add(fragment_header(1, 0, true), slice(whole, 0, 8), start));
  expect_pending(reassembler.add(fragment_header(1, 8, true), slice(whole, 8, 8), start));
  expect_complete(reassembler.add(fragment_header(1, 8, false), slice(whole, 8, 8), start), whole);
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, DataBeyondLastFragmentIsMalformed) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(64);
  expect_pending(reassembler.add(fragment_header(1, 16, false), slice(whole, 16, 8), start));
  expect_error(reassembler.add(fragment_header(1, 32, true), slice(whole, 32, 8), start), Errc::malformed,
               "fragment beyond the last fragment's end");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, LastFragmentBeforeDataAlreadyReceivedIsMalformed) {
  Ipv4Reassembler reassembler;
  auto whole = datagram_bytes(64);
  expect_pending(reassembler.add(fragment_header(1, 32, true), slice(whole, 32, 8), start));
  expect_error(reassembler.add(fragment_header(1, 16, false), slice(whole, 16, 8), start), Errc::malformed,
               "fragment beyond the last fragment's end");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, TimeoutExpiry) {
  Ipv4Reassembler reassembler({.timeout = std::chrono::seconds(30)});
  auto whole = datagram_bytes(32);
  expect_pending(add_slice(reassembler, 1, whole, 0, 16, start));
  expect_pending(add_slice(reassembler, 2, whole, 0, 16, start + std::chrono::seconds(10)));
  EXPECT_EQ(reassembler.expire(start + std::chrono::seconds(29)), 0u);
  EXPECT_EQ(reassembler.in_progress(), 2u);
  EXPECT_EQ(reassembler.expire(start + std::chrono::seconds(30)), 1u);
  EXPECT_EQ(reassembler.in_progress(), 1u);
  // The expired datagram's first half is gone: its second half starts over.
  expect_pending(add_slice(reassembler, 1, whole, 16, 16, start + std::chrono::seconds(31)));
  // The other one is still whole-able until its own timeout.
  expect_complete(add_slice(reassembler, 2, whole, 16, 16, start + std::chrono::seconds(31)), whole);
  EXPECT_EQ(reassembler.expire(start + std::chrono::seconds(61)), 1u);
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

TEST(Ipv4Reassembly, TimeoutCountsFromFirstFragment) {
  Ipv4Reassembler reassembler({.timeout = std::chrono::seconds(5)});
  auto whole = datagram_bytes(64);
  expect_pending(add_slice(reassembler, 1, whole, 0, 16, start));
  expect_pending(add_slice(reassembler, 1, whole, 16, 16, start + std::chrono::seconds(4)));
  EXPECT_EQ(reassembler.expire(start + std::chrono::seconds(5)), 1u);
}

// A stream of first fragments that never complete: the table stays within its
// limit, the oldest goes first, and a datagram that does complete still gets through.
TEST(Ipv4Reassembly, EndlessFragmentsStayBounded) {
  Ipv4Reassembler::Limits limits{.max_datagrams = 8};
  Ipv4Reassembler reassembler(limits);
  auto* evicted = Counter::find("ipv4.reassembly_evicted");
  ASSERT_NE(evicted, nullptr);
  auto evicted_before = evicted->value();
  auto whole = datagram_bytes(1024);
  Instant now = start;
  for (std::uint16_t id = 0; id < 5000; ++id) {
    now += std::chrono::milliseconds(1);
    expect_pending(add_slice(reassembler, id, whole, 0, 512, now));
    ASSERT_LE(reassembler.in_progress(), limits.max_datagrams);
  }
  EXPECT_EQ(reassembler.in_progress(), limits.max_datagrams);
  EXPECT_EQ(evicted->value() - evicted_before, 5000u - limits.max_datagrams);
  // The newest survive; the oldest were dropped.
  expect_complete(add_slice(reassembler, 4999, whole, 512, 512, now), whole);
  expect_pending(add_slice(reassembler, 0, whole, 512, 512, now));
}

TEST(Ipv4Reassembly, EndlessFragmentsOfOneDatagramStayBounded) {
  Ipv4Reassembler reassembler({.max_fragments = 16, .max_payload = 4096});
  auto whole = datagram_bytes(4096);
  std::size_t accepted = 0;
  for (std::size_t offset = 0; offset < 4096; offset += 8) {
    auto result = add_slice(reassembler, 1, whole, offset, 8);
    if (result) ++accepted;
    else EXPECT_EQ(result.error().context, "too many fragments");
    ASSERT_LE(reassembler.in_progress(), 1u);
  }
  EXPECT_GT(accepted, 16u);
}

TEST(Ipv4Reassembly, DisabledWhenNoDatagramsAllowed) {
  Ipv4Reassembler reassembler({.max_datagrams = 0});
  auto whole = datagram_bytes(32);
  expect_error(add_slice(reassembler, 1, whole, 0, 16), Errc::limit_reached, "reassembly disabled");
  EXPECT_EQ(reassembler.in_progress(), 0u);
}

} // namespace
} // namespace morgana::net
