#include "morgana/core/virtio_net_header.h"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <tuple>
#include <vector>

namespace morgana {
namespace {

constexpr std::size_t ethernet = 14, ipv4 = 20, tcp_checksum_offset = 16;
constexpr std::uint16_t tcp_start = ethernet + ipv4;

using Wire = std::array<std::byte, VirtioNetHeader::size>;

Wire wire(std::initializer_list<int> bytes) {
  Wire out{};
  std::size_t i = 0;
  for (int byte : bytes) out.at(i++) = static_cast<std::byte>(byte);
  return out;
}

// An Ethernet/IPv4/TCP frame of `length` bytes whose TCP header is
// `tcp_words` 32-bit words long; only that field matters here.
std::vector<std::byte> tcp_frame(std::size_t length, unsigned tcp_words = 5) {
  std::vector<std::byte> frame(length);
  if (length > tcp_start + 12) frame[tcp_start + 12] = static_cast<std::byte>(tcp_words << 4);
  return frame;
}

FrameOffload partial_checksum(std::uint16_t start, std::uint16_t offset, std::uint16_t segment_size = 0) {
  return {.checksum_partial = true, .checksum_start = start, .checksum_offset = offset, .segment_size = segment_size};
}

// A FrameOffload's fields, compared (and printed by a failure) in one go.
auto fields(const FrameOffload& offload) {
  return std::tuple(offload.checksum_partial, offload.checksum_start, offload.checksum_offset, offload.checksum_valid,
                    offload.segment_size);
}

TEST(VirtioNetHeaderTest, ParsesLittleEndianFieldsAtTheirOffsets) {
  auto header = VirtioNetHeader::parse(wire({0x01, 0x81, 0x42, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00}));
  EXPECT_EQ(header.flags, VirtioNetHeader::flag_needs_csum);
  EXPECT_EQ(header.gso_type, 0x81);
  EXPECT_EQ(header.gso_kind(), VirtioNetHeader::gso_tcpv4) << "the ECN bit is not part of the type";
  EXPECT_EQ(header.hdr_len, 0x42);
  EXPECT_EQ(header.gso_size, 1448);
  EXPECT_EQ(header.csum_start, 34);
  EXPECT_EQ(header.csum_offset, 16);
}

TEST(VirtioNetHeaderTest, SerializesWhatItParses) {
  VirtioNetHeader header{VirtioNetHeader::flag_data_valid, VirtioNetHeader::gso_tcpv4, 0x1234, 0xbeef, 0x0102, 0xff00};
  Wire out;
  out.fill(std::byte{0xee});
  header.serialize(out);
  EXPECT_EQ(out, wire({0x02, 0x01, 0x34, 0x12, 0xef, 0xbe, 0x02, 0x01, 0x00, 0xff}));
  EXPECT_EQ(VirtioNetHeader::parse(out), header);
}

TEST(VirtioNetHeaderTest, PlainFrameHasAZeroHeader) {
  auto header = virtio_net_header_for(tcp_frame(60), {});
  ASSERT_TRUE(header);
  EXPECT_EQ(*header, VirtioNetHeader{});
  auto offload = frame_offload_of(*header, 60);
  ASSERT_TRUE(offload);
  EXPECT_EQ(fields(*offload), fields({}));
}

TEST(VirtioNetHeaderTest, PartialChecksumRoundTrip) {
  auto frame = tcp_frame(200);
  auto header = virtio_net_header_for(frame, partial_checksum(tcp_start, tcp_checksum_offset));
  ASSERT_TRUE(header);
  EXPECT_EQ(header->flags, VirtioNetHeader::flag_needs_csum);
  EXPECT_EQ(header->gso_type, VirtioNetHeader::gso_none);
  EXPECT_EQ(header->hdr_len, 0) << "only segmentation needs it";
  Wire bytes;
  header->serialize(bytes);
  auto offload = frame_offload_of(VirtioNetHeader::parse(bytes), frame.size());
  ASSERT_TRUE(offload);
  EXPECT_EQ(fields(*offload), fields(partial_checksum(tcp_start, tcp_checksum_offset)));
}

TEST(VirtioNetHeaderTest, SegmentationRoundTrip) {
  auto frame = tcp_frame(30'000, 8); // a TCP header with 12 bytes of options
  auto header = virtio_net_header_for(frame, partial_checksum(tcp_start, tcp_checksum_offset, 1448));
  ASSERT_TRUE(header);
  Wire bytes;
  header->serialize(bytes);
  EXPECT_EQ(bytes, wire({0x01, 0x01, tcp_start + 32, 0x00, 0xa8, 0x05, tcp_start, 0x00, tcp_checksum_offset, 0x00}))
      << "NEEDS_CSUM, GSO_TCPV4, hdr_len up to the TCP payload, gso_size 1448";
  auto offload = frame_offload_of(VirtioNetHeader::parse(bytes), frame.size());
  ASSERT_TRUE(offload);
  EXPECT_EQ(fields(*offload), fields(partial_checksum(tcp_start, tcp_checksum_offset, 1448)));
}

TEST(VirtioNetHeaderTest, ReceivedDataValidAndEcn) {
  VirtioNetHeader header;
  header.flags = VirtioNetHeader::flag_data_valid;
  header.gso_type = VirtioNetHeader::gso_tcpv4 | VirtioNetHeader::gso_ecn;
  header.gso_size = 1448;
  FrameOffload expected{.checksum_valid = true, .segment_size = 1448};
  auto offload = frame_offload_of(header, 20'000);
  ASSERT_TRUE(offload);
  EXPECT_EQ(fields(*offload), fields(expected));
}

TEST(VirtioNetHeaderTest, SendMetadataThatDoesNotFitIsRefused) {
  auto frame = tcp_frame(100);
  EXPECT_TRUE(virtio_net_header_for(frame, partial_checksum(82, 16))) << "the field ends at the frame's end";
  EXPECT_EQ(virtio_net_header_for(frame, partial_checksum(83, 16)).error().code, Errc::invalid_argument)
      << "checksum field beyond the frame";
  FrameOffload no_checksum;
  no_checksum.segment_size = 1000;
  EXPECT_EQ(virtio_net_header_for(frame, no_checksum).error().code, Errc::invalid_argument);
  auto short_tcp = tcp_frame(100, 4); // a data offset below the 20-byte minimum
  EXPECT_EQ(virtio_net_header_for(short_tcp, partial_checksum(tcp_start, tcp_checksum_offset, 1000)).error().code,
            Errc::invalid_argument);
  auto long_tcp = tcp_frame(tcp_start + 40, 15); // 60 bytes of TCP header in 40
  EXPECT_EQ(virtio_net_header_for(long_tcp, partial_checksum(tcp_start, tcp_checksum_offset, 1000)).error().code,
            Errc::invalid_argument);
  auto cut_tcp = tcp_frame(tcp_start + 19); // not even the TCP header's fixed part
  EXPECT_EQ(virtio_net_header_for(cut_tcp, partial_checksum(tcp_start, 0, 1000)).error().code, Errc::invalid_argument);
}

TEST(VirtioNetHeaderTest, ReceivedMetadataThatCannotBeIsRefused) {
  VirtioNetHeader beyond;
  beyond.flags = VirtioNetHeader::flag_needs_csum;
  beyond.csum_start = 99; // offset 0: the field ends at 101
  EXPECT_EQ(frame_offload_of(beyond, 100).error().code, Errc::malformed);
  EXPECT_TRUE(frame_offload_of(beyond, 101));
  beyond.csum_start = 0xffff;
  beyond.csum_offset = 0xffff;
  EXPECT_EQ(frame_offload_of(beyond, 65535 + 14).error().code, Errc::malformed) << "no 16-bit wrap";

  VirtioNetHeader udp;
  udp.gso_type = 3; // VIRTIO_NET_HDR_GSO_UDP
  udp.gso_size = 100;
  EXPECT_EQ(frame_offload_of(udp, 1000).error().code, Errc::unsupported);
  VirtioNetHeader tcpv6;
  tcpv6.gso_type = 4 | VirtioNetHeader::gso_ecn; // VIRTIO_NET_HDR_GSO_TCPV6
  tcpv6.gso_size = 100;
  EXPECT_EQ(frame_offload_of(tcpv6, 1000).error().code, Errc::unsupported);
  VirtioNetHeader no_size;
  no_size.gso_type = VirtioNetHeader::gso_tcpv4;
  EXPECT_EQ(frame_offload_of(no_size, 1000).error().code, Errc::malformed);
}

} // namespace
} // namespace morgana
