#include "morgana/net/ipv4_header.h"

#include <gtest/gtest.h>

#include "frames.h"

namespace morgana::net {
namespace {

using namespace frames;

Result<Ipv4Header> parse(Bytes bytes) {
  ByteReader reader(bytes);
  return Ipv4Header::parse(reader);
}

void expect_error(const Frame& bytes, Errc code) {
  auto header = parse(bytes);
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error().code, code) << header.error().context;
}

// A widely published header (192.168.0.1 -> 192.168.0.199, UDP, DF, TTL 64)
// whose checksum 0xb861 was computed independently.
constexpr std::uint8_t published_header[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                               0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};

Frame published_datagram() {
  Frame bytes(0x73);
  for (std::size_t i = 0; i < 20; ++i) bytes[i] = std::byte{published_header[i]};
  return bytes;
}

// RFC 791 §3.1: every field of the header.
TEST(Ipv4Header, ParsesPublishedVector) {
  Frame bytes = published_datagram();
  ByteReader reader(bytes);
  auto header = Ipv4Header::parse(reader);
  ASSERT_TRUE(header.has_value()) << header.error().context;
  EXPECT_EQ(header->header_length, 20);
  EXPECT_EQ(header->type_of_service, 0);
  EXPECT_EQ(header->total_length, 0x73);
  EXPECT_EQ(header->identification, 0);
  EXPECT_TRUE(header->dont_fragment);
  EXPECT_FALSE(header->more_fragments);
  EXPECT_EQ(header->fragment_offset, 0);
  EXPECT_EQ(header->time_to_live, 64);
  EXPECT_EQ(header->protocol, ip_protocol::udp);
  EXPECT_EQ(header->header_checksum, 0xb861);
  EXPECT_EQ(header->source, Ipv4Address::from_octets(192, 168, 0, 1));
  EXPECT_EQ(header->destination, Ipv4Address::from_octets(192, 168, 0, 199));
  EXPECT_EQ(header->payload_length(), 0x73u - 20);
  EXPECT_FALSE(header->is_fragment());
  EXPECT_EQ(reader.position(), 20u);
}

TEST(Ipv4Header, ParsesFlagsOffsetAndOptions) {
  Ipv4Fields fields;
  fields.ihl = 7;
  fields.type_of_service = 0xb8;
  fields.identification = 0xbeef;
  fields.more_fragments = true;
  fields.fragment_offset = 0x1fff * 8;
  fields.time_to_live = 1;
  fields.protocol = ip_protocol::icmp;
  fields.source = remote_address;
  Frame payload = pattern(0);
  // The largest offset leaves room for no payload below 65535.
  Frame bytes = ipv4(fields, payload);
  ByteReader reader(bytes);
  auto header = Ipv4Header::parse(reader);
  ASSERT_TRUE(header.has_value()) << header.error().context;
  EXPECT_EQ(header->header_length, 28);
  EXPECT_EQ(header->type_of_service, 0xb8);
  EXPECT_EQ(header->total_length, 28);
  EXPECT_EQ(header->identification, 0xbeef);
  EXPECT_FALSE(header->dont_fragment);
  EXPECT_TRUE(header->more_fragments);
  EXPECT_EQ(header->fragment_offset, 0x1fff * 8);
  EXPECT_EQ(header->time_to_live, 1);
  EXPECT_EQ(header->protocol, ip_protocol::icmp);
  EXPECT_EQ(header->source, remote_address);
  EXPECT_EQ(header->destination, our_address);
  EXPECT_TRUE(header->is_fragment());
  // Options are skipped: the reader stands at the payload.
  EXPECT_EQ(reader.position(), 28u);
}

TEST(Ipv4Header, TruncatedAtEveryLength) {
  Ipv4Fields fields;
  fields.ihl = 6;
  Frame bytes = ipv4(fields, pattern(12));
  for (std::size_t length = 0; length < bytes.size(); ++length) {
    auto header = parse(Bytes(bytes).first(length));
    ASSERT_FALSE(header.has_value()) << length;
    EXPECT_EQ(header.error().code, Errc::truncated) << length;
  }
  EXPECT_TRUE(parse(bytes).has_value());
}

// RFC 791 §3.1: trailing bytes beyond the total length (link padding) are not the datagram's.
TEST(Ipv4Header, AcceptsBytesBeyondTotalLength) {
  Frame bytes = ipv4(Ipv4Fields{}, pattern(6));
  bytes.resize(bytes.size() + 20, std::byte{0});
  auto header = parse(bytes);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->total_length, 26);
  EXPECT_EQ(header->payload_length(), 6u);
}

TEST(Ipv4Header, RejectsOtherVersions) {
  for (std::uint8_t version : {0, 5, 6, 15}) {
    Ipv4Fields fields;
    fields.version = version;
    expect_error(ipv4(fields, pattern(8)), Errc::malformed);
  }
}

TEST(Ipv4Header, RejectsIhlBelowFive) {
  for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
    // Built with a full 20-byte header so only the IHL is wrong.
    Frame bytes = ipv4(Ipv4Fields{}, pattern(8));
    bytes[0] = std::byte(static_cast<std::uint8_t>(0x40 | ihl));
    expect_error(bytes, Errc::malformed);
  }
}

TEST(Ipv4Header, RejectsTotalLengthBeyondTheFrame) {
  Ipv4Fields fields;
  fields.total_length = 20 + 9;
  expect_error(ipv4(fields, pattern(8)), Errc::truncated);
  fields.total_length = 0xffff;
  expect_error(ipv4(fields, pattern(8)), Errc::truncated);
}

TEST(Ipv4Header, RejectsTotalLengthBelowHeaderLength) {
  Ipv4Fields fields;
  fields.total_length = 19;
  expect_error(ipv4(fields, pattern(8)), Errc::malformed);
  fields.total_length = 0;
  expect_error(ipv4(fields, pattern(8)), Errc::malformed);
  fields.ihl = 6;
  fields.total_length = 23;
  expect_error(ipv4(fields, pattern(8)), Errc::malformed);
}

// RFC 1071 / RFC 791 §3.1: the header checksum covers the whole header, options included.
TEST(Ipv4Header, RejectsBadChecksum) {
  Frame bytes = published_datagram();
  bytes[11] ^= std::byte{1};
  expect_error(bytes, Errc::bad_checksum);
  Ipv4Fields fields;
  fields.ihl = 6;
  bytes = ipv4(fields, pattern(8));
  bytes[22] ^= std::byte{0x80}; // inside the option word
  expect_error(bytes, Errc::bad_checksum);
}

// RFC 791 §3.1: bit 0 of the flags is reserved and must be zero.
TEST(Ipv4Header, RejectsReservedFlag) {
  Ipv4Fields fields;
  fields.reserved_flag = true;
  expect_error(ipv4(fields, pattern(8)), Errc::malformed);
}

// RFC 791 §3.2: a fragment cannot reach beyond the 65535-byte datagram limit.
TEST(Ipv4Header, RejectsFragmentEndingBeyond65535) {
  Ipv4Fields fields;
  fields.fragment_offset = 0x1fff * 8; // 65528
  expect_error(ipv4(fields, pattern(8)), Errc::malformed);
  EXPECT_TRUE(parse(ipv4(fields, pattern(7))).has_value());
}

TEST(Ipv4Header, WritesPublishedVector) {
  Ipv4Header header;
  header.total_length = 0x73;
  header.identification = 0;
  header.dont_fragment = true;
  header.time_to_live = 64;
  header.protocol = ip_protocol::udp;
  header.source = Ipv4Address::from_octets(192, 168, 0, 1);
  header.destination = Ipv4Address::from_octets(192, 168, 0, 199);
  std::byte buffer[20];
  ByteWriter writer(buffer);
  header.write(writer);
  ASSERT_TRUE(writer.finish().has_value());
  for (std::size_t i = 0; i < 20; ++i) EXPECT_EQ(buffer[i], std::byte{published_header[i]}) << i;
}

TEST(Ipv4Header, WritesFragmentFieldsAndRoundTrips) {
  Ipv4Header header;
  header.type_of_service = 0x10;
  header.total_length = 20 + 16;
  header.identification = 0xa55a;
  header.more_fragments = true;
  header.fragment_offset = 1480;
  header.time_to_live = 3;
  header.protocol = ip_protocol::icmp;
  header.source = our_address;
  header.destination = remote_address;
  Frame bytes(20 + 16);
  ByteWriter writer(bytes);
  header.write(writer);
  ASSERT_TRUE(writer.finish().has_value());
  EXPECT_EQ(load_be16(bytes.data() + 6), 0x2000 | (1480 / 8));
  EXPECT_EQ(reference_checksum(Bytes(bytes).first(20)), 0);
  auto parsed = parse(bytes);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().context;
  EXPECT_EQ(parsed->type_of_service, header.type_of_service);
  EXPECT_EQ(parsed->total_length, header.total_length);
  EXPECT_EQ(parsed->identification, header.identification);
  EXPECT_EQ(parsed->dont_fragment, header.dont_fragment);
  EXPECT_EQ(parsed->more_fragments, header.more_fragments);
  EXPECT_EQ(parsed->fragment_offset, header.fragment_offset);
  EXPECT_EQ(parsed->time_to_live, header.time_to_live);
  EXPECT_EQ(parsed->protocol, header.protocol);
  EXPECT_EQ(parsed->source, header.source);
  EXPECT_EQ(parsed->destination, header.destination);
}

TEST(Ipv4Header, WriteReportsOverflow) {
  std::byte buffer[19];
  ByteWriter writer(buffer);
  Ipv4Header{}.write(writer);
  EXPECT_FALSE(writer.finish().has_value());
}

} // namespace
} // namespace morgana::net
