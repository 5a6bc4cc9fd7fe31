#include "morgana/net/tcp_header.h"

#include <gtest/gtest.h>

#include "hex.h"

#include <string_view>
#include <vector>

#include "morgana/net/ipv4_header.h"
#include "morgana/net/transport_checksum.h"
#include "morgana/net/udp.h"

namespace morgana::net {
namespace {

using Segment = std::vector<std::byte>;

using test_support::from_hex;

Segment concat(Segment a, const Segment& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Real segments, captured with tcpdump (offloads off, so checksums are as sent)
// between Linux 6.18 stacks in two network namespaces joined by a veth pair,
// client 192.0.2.1 and server 192.0.2.2:5001 (socat). The server dropped 3% of
// the data segments (nftables numgen) so that its ACKs carry SACK blocks. These
// are the TCP segments, without the IPv4 header.
constexpr Ipv4Address client = Ipv4Address::from_octets(192, 0, 2, 1);
constexpr Ipv4Address server = Ipv4Address::from_octets(192, 0, 2, 2);
// Flags [S], seq 1243615644, win 64240, options [mss 1460,sackOK,TS val 4104005217 ecr 0,nop,wscale 10]
const Segment linux_syn =
    from_hex("8bb8 1389 4a20119c 00000000 a002 faf0 b30a 0000 020405b4 0402 080af49e266100000000 0103030a");
// Flags [S.], seq 3605434290, ack 1243615645, win 65160, options [mss 1460,sackOK,TS val 3604192704 ecr
// 4104005217,nop,wscale 10]
const Segment linux_syn_ack =
    from_hex("1389 8bb8 d6e68fb2 4a20119d a012 fe88 d433 0000 020405b4 0402 080ad6d39dc0f49e2661 0103030a");
// Flags [.], ack 1243990077, win 530, options [nop,nop,TS val 3604192713 ecr 4104005226,nop,nop,sack 2
// {1243998269:1243999717}{1243991525:1243996821}]
const Segment linux_sack_ack = from_hex("1389 8bb8 d6e68fb3 4a25c83d d010 0212 4366 0000 0101 080ad6d39dc9f49e266a "
                                        "0101 0512 4a25e83d 4a25ede5 4a25cde5 4a25e295");
// Another connection, client port 47334: Flags [P.], seq 2383078385:2383078392, ack 3519017303, win 63,
// options [nop,nop,TS val 538842198 ecr 3232395328], length 7 ("morgana": an odd length for the checksum).
const Segment linux_data_header = from_hex("b8e6 1389 8e0ae3f1 d1bff157 8018 003f e942 0000 0101 080a201e1456c0aa7040");
const Segment linux_data = concat(linux_data_header, from_hex("6d6f7267616e61"));

// A header with every field but the options zero, data offset `words`, then `options` (hex).
Segment with_options(std::string_view options, int words) {
  auto segment = from_hex("0001 0002 00000003 00000004 0010 0400 0000 0000");
  segment[12] = std::byte(words << 4);
  return concat(segment, from_hex(options));
}
// The same, with the data offset covering exactly the options.
Segment with_options(std::string_view options) {
  auto bytes = from_hex(options).size();
  EXPECT_EQ(bytes % 4, 0u) << "options must fill whole words";
  return with_options(options, static_cast<int>(5 + bytes / 4));
}

Result<TcpHeader> parse(const Segment& segment) {
  ByteReader reader(segment);
  return TcpHeader::parse(reader);
}

Segment written(const TcpHeader& header) {
  Segment buffer(TcpHeader::maximum_size);
  ByteWriter writer(buffer);
  header.write(writer);
  auto bytes = writer.finish();
  EXPECT_TRUE(bytes.has_value());
  buffer.resize(bytes ? bytes->size() : 0);
  return buffer;
}

std::vector<SackBlock> sack_of(const TcpHeader& header) { return {header.sack().begin(), header.sack().end()}; }

SequenceNumber seq(std::uint32_t value) { return SequenceNumber(value); }

TEST(TcpHeader, ParsesLinuxSyn) {
  ByteReader reader(linux_syn);
  auto header = TcpHeader::parse(reader);
  ASSERT_TRUE(header.has_value()) << header.error().message();
  EXPECT_EQ(header->source_port, 35768);
  EXPECT_EQ(header->destination_port, 5001);
  EXPECT_EQ(header->sequence, seq(1243615644));
  EXPECT_EQ(header->acknowledgment, seq(0));
  EXPECT_EQ(header->data_offset, 40);
  EXPECT_EQ(header->flags, tcp_flag::syn);
  EXPECT_TRUE(header->has(tcp_flag::syn));
  EXPECT_FALSE(header->has(tcp_flag::ack));
  EXPECT_EQ(header->window, 64240);
  EXPECT_EQ(header->checksum, 0xb30a);
  EXPECT_EQ(header->urgent_pointer, 0);
  EXPECT_EQ(header->mss, 1460);
  EXPECT_TRUE(header->sack_permitted);
  EXPECT_EQ(header->timestamps, (TcpTimestamps{4104005217, 0}));
  EXPECT_EQ(header->window_scale, 10);
  EXPECT_TRUE(header->sack().empty());
  EXPECT_EQ(reader.position(), 40u);
}

TEST(TcpHeader, ParsesLinuxSynAck) {
  auto header = parse(linux_syn_ack);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->source_port, 5001);
  EXPECT_EQ(header->destination_port, 35768);
  EXPECT_EQ(header->sequence, seq(3605434290));
  EXPECT_EQ(header->acknowledgment, seq(1243615645));
  EXPECT_EQ(header->flags, tcp_flag::syn | tcp_flag::ack);
  EXPECT_TRUE(header->has(tcp_flag::syn | tcp_flag::ack));
  EXPECT_FALSE(header->has(tcp_flag::syn | tcp_flag::fin));
  EXPECT_EQ(header->window, 65160);
  EXPECT_EQ(header->mss, 1460);
  EXPECT_TRUE(header->sack_permitted);
  EXPECT_EQ(header->timestamps, (TcpTimestamps{3604192704, 4104005217}));
  EXPECT_EQ(header->window_scale, 10);
}

TEST(TcpHeader, ParsesLinuxSackBlocks) {
  auto header = parse(linux_sack_ack);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->data_offset, 52);
  EXPECT_EQ(header->flags, tcp_flag::ack);
  EXPECT_EQ(header->acknowledgment, seq(1243990077));
  EXPECT_EQ(header->window, 530);
  EXPECT_FALSE(header->mss.has_value());
  EXPECT_FALSE(header->window_scale.has_value());
  EXPECT_FALSE(header->sack_permitted);
  EXPECT_EQ(header->timestamps, (TcpTimestamps{3604192713, 4104005226}));
  EXPECT_EQ(sack_of(*header),
            (std::vector<SackBlock>{{seq(1243998269), seq(1243999717)}, {seq(1243991525), seq(1243996821)}}));
}

TEST(TcpHeader, LeavesTheReaderAtThePayload) {
  ByteReader reader(linux_data);
  auto header = TcpHeader::parse(reader);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->flags, tcp_flag::psh | tcp_flag::ack);
  EXPECT_EQ(header->sequence, seq(2383078385));
  EXPECT_EQ(as_string(reader.rest()), "morgana");
}

TEST(TcpHeader, ChecksumsOfLinuxSegmentsVerify) {
  EXPECT_EQ(tcp_checksum(client, server, linux_syn), 0);
  EXPECT_EQ(tcp_checksum(server, client, linux_syn_ack), 0);
  EXPECT_EQ(tcp_checksum(server, client, linux_sack_ack), 0);
  EXPECT_EQ(tcp_checksum(client, server, linux_data), 0);
  EXPECT_NE(tcp_checksum(client, Ipv4Address::from_octets(192, 0, 2, 3), linux_syn), 0);
}

TEST(TcpHeader, ChecksumOverZeroedFieldIsTheOneLinuxSent) {
  auto segment = linux_data; // odd length: the last byte pads with zero (RFC 1071)
  segment[TcpHeader::checksum_offset] = segment[TcpHeader::checksum_offset + 1] = std::byte{0};
  EXPECT_EQ(tcp_checksum(client, server, segment), 0xe942);
  segment = linux_syn;
  segment[TcpHeader::checksum_offset] = segment[TcpHeader::checksum_offset + 1] = std::byte{0};
  EXPECT_EQ(tcp_checksum(client, server, segment), 0xb30a);
}

TEST(TcpHeader, ChecksumFailsWhenAByteChanges) {
  auto segment = linux_data;
  segment.back() = std::byte{'A'};
  EXPECT_NE(tcp_checksum(client, server, segment), 0);
}

TEST(TransportChecksum, MatchesUdpChecksum) {
  auto datagram = from_hex("a1b2 0035 000d 0000 68656c6c6f");
  EXPECT_EQ(transport_checksum(client, server, ip_protocol::udp, datagram), udp_checksum(client, server, datagram));
  EXPECT_NE(transport_checksum(client, server, ip_protocol::tcp, datagram), udp_checksum(client, server, datagram));
}

TEST(TcpHeader, WritesLinuxSegmentsBackByteForByte) {
  for (const auto* segment : {&linux_syn, &linux_syn_ack, &linux_sack_ack, &linux_data_header}) {
    auto header = parse(*segment);
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(header->options_length(), segment->size() - TcpHeader::minimum_size);
    EXPECT_EQ(written(*header), *segment);
  }
}

TEST(TcpHeader, EveryTruncationOfASynFails) {
  for (std::size_t length = 0; length < linux_syn.size(); ++length) {
    ByteReader reader(std::span(linux_syn).first(length));
    auto header = TcpHeader::parse(reader);
    ASSERT_FALSE(header.has_value()) << length;
    EXPECT_EQ(header.error(), Errc::truncated) << length;
    EXPECT_EQ(reader.position(), 0u) << length;
  }
}

TEST(TcpHeader, DataOffsetBelowFiveWordsIsMalformed) {
  for (int words = 0; words < 5; ++words) {
    auto segment = with_options("", words);
    ByteReader reader(segment);
    auto header = TcpHeader::parse(reader);
    ASSERT_FALSE(header.has_value()) << words;
    EXPECT_EQ(header.error(), Errc::malformed) << words;
    EXPECT_EQ(reader.position(), 0u);
  }
}

TEST(TcpHeader, DataOffsetBeyondTheSegmentIsTruncated) {
  auto header = parse(with_options("01010101", 7));
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error(), Errc::truncated);
}

TEST(TcpHeader, ReservedBitsAreIgnored) {
  auto segment = linux_syn;
  segment[12] |= std::byte{0x0f};
  auto header = parse(segment);
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->data_offset, 40);
  EXPECT_EQ(written(*header), linux_syn);
}

TEST(TcpHeader, OptionLengthsBelowTwoAreMalformed) {
  for (auto options : {"02000000", "02010000", "fe00 0000", "0101 0800"}) {
    auto header = parse(with_options(options));
    ASSERT_FALSE(header.has_value()) << options;
    EXPECT_EQ(header.error(), Errc::malformed) << options;
  }
}

TEST(TcpHeader, OptionRunningPastTheDataOffsetIsMalformed) {
  // MSS claiming 4 bytes with 3 left; an unknown option claiming 9 with 8 left;
  // a kind in the last byte with no room for its length.
  for (auto options : {"0101010101 020405", "fe09 00000000 0000", "010101 02"}) {
    auto header = parse(with_options(options));
    ASSERT_FALSE(header.has_value()) << options;
    EXPECT_EQ(header.error(), Errc::malformed) << options;
  }
  // The same MSS, cut by the data offset though its bytes follow in the payload.
  auto header = parse(with_options("0101 0204 05b4 0000", 6));
  ASSERT_FALSE(header.has_value());
  EXPECT_EQ(header.error(), Errc::malformed);
}

TEST(TcpHeader, UnknownOptionsAreSkippedByLength) {
  // Kind 30 (MPTCP, 4 bytes), an experimental kind 254 of 6 bytes, kind 99 of
  // length 2 (no body), then MSS.
  auto header = parse(with_options("1e04abcd fe06 01020304 6302 020405b4"));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->mss, 1460);
  EXPECT_EQ(header->options_length(), 4u);
}

TEST(TcpHeader, EndOfOptionListEndsParsing) {
  // After EOL the rest is padding, even when it looks like options or bad lengths.
  auto header = parse(with_options("00 020405b4 0201 08"));
  ASSERT_TRUE(header.has_value());
  EXPECT_FALSE(header->mss.has_value());
  header = parse(with_options("03030700 020405b4"));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->window_scale, 7);
  EXPECT_FALSE(header->mss.has_value());
}

TEST(TcpHeader, KnownOptionsWithTheWrongLengthAreIgnored) {
  // MSS of 3 and 5 bytes, window scale of 4, SACK-permitted of 3, timestamps of
  // 8, SACK without blocks or with a partial block: each skipped whole, and
  // the options after it still read.
  for (auto options :
       {"020305 020405b4", "02050102 03020405 b4000000", "03040102 020405b4", "040300 020405b4",
        "0808 000000000000 020405b4", "0502 020405b4", "0506 00000001 020405b4", "050b 000000010000000200 020405b4"}) {
    auto segment = from_hex(options);
    segment.resize((segment.size() + 3) / 4 * 4, std::byte{tcp_option::no_operation});
    auto header = parse(concat(with_options("", static_cast<int>(5 + segment.size() / 4)), segment));
    ASSERT_TRUE(header.has_value()) << options;
    EXPECT_EQ(header->mss, 1460) << options;
    EXPECT_FALSE(header->window_scale.has_value()) << options;
    EXPECT_FALSE(header->sack_permitted) << options;
    EXPECT_FALSE(header->timestamps.has_value()) << options;
    EXPECT_TRUE(header->sack().empty()) << options;
  }
}

TEST(TcpHeader, WindowScaleAbove14IsTakenAs14) {
  for (auto [shift, expected] : {std::pair{0, 0}, {14, 14}, {15, 14}, {255, 14}}) {
    auto segment = with_options("01 030300");
    segment.back() = std::byte(shift);
    auto header = parse(segment);
    ASSERT_TRUE(header.has_value());
    EXPECT_EQ(header->window_scale, expected) << shift;
  }
}

TEST(TcpHeader, ReadsFourSackBlocks) {
  auto header = parse(with_options("0101 0522 00000001 00000002 00000003 00000004 00000005 00000006 "
                                   "fffffff0 00000010"));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(sack_of(*header), (std::vector<SackBlock>{
                                  {seq(1), seq(2)}, {seq(3), seq(4)}, {seq(5), seq(6)}, {seq(0xfffffff0), seq(0x10)}}));
}

TEST(TcpHeader, LaterOptionReplacesAnEarlierOne) {
  auto header = parse(with_options("020405b4 02040218"));
  ASSERT_TRUE(header.has_value());
  EXPECT_EQ(header->mss, 536);
}

TEST(TcpHeader, WritesAPlainHeaderWithoutOptions) {
  TcpHeader header;
  header.source_port = 0x1234;
  header.destination_port = 80;
  header.sequence = seq(0xdeadbeef);
  header.acknowledgment = seq(1);
  header.flags = tcp_flag::rst | tcp_flag::ack;
  header.window = 0xffff;
  header.checksum = 0x0102;
  header.urgent_pointer = 7;
  header.data_offset = 60; // ignored: write() computes the offset
  EXPECT_EQ(header.options_length(), 0u);
  EXPECT_EQ(written(header), from_hex("1234 0050 deadbeef 00000001 5014 ffff 0102 0007"));
}

TEST(TcpHeader, WritesSackPermittedWithoutTimestampsAligned) {
  TcpHeader header;
  header.flags = tcp_flag::syn;
  header.mss = 1460;
  header.sack_permitted = true;
  header.window_scale = 7;
  auto bytes = written(header);
  ASSERT_EQ(bytes.size(), 32u);
  EXPECT_EQ(Segment(bytes.begin() + 20, bytes.end()), from_hex("020405b4 01010402 01030307"));
}

TEST(TcpHeader, PacksOptionsWhenTheAlignedLayoutDoesNotFit) {
  // Timestamps, window scale and three SACK blocks need 44 bytes aligned but 39 packed.
  TcpHeader header;
  header.timestamps = TcpTimestamps{1, 2};
  header.window_scale = 3;
  header.sack_blocks = {SackBlock{seq(10), seq(20)}, {seq(30), seq(40)}, {seq(50), seq(60)}};
  header.sack_block_count = 3;
  EXPECT_EQ(header.options_length(), 40u);
  auto bytes = written(header);
  ASSERT_EQ(bytes.size(), 60u);
  EXPECT_EQ(Segment(bytes.begin() + 20, bytes.end()),
            from_hex("080a 00000001 00000002 030303 051a 0000000a 00000014 0000001e 00000028 00000032 0000003c 01"));
  auto parsed = parse(bytes);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(sack_of(*parsed), sack_of(header));
  EXPECT_EQ(parsed->window_scale, 3);
  EXPECT_EQ(parsed->timestamps, header.timestamps);
}

TEST(TcpHeader, LeavesOutSackBlocksThatDoNotFitLastFirst) {
  TcpHeader header;
  header.timestamps = TcpTimestamps{1, 2};
  header.sack_blocks = {SackBlock{seq(1), seq(2)}, {seq(3), seq(4)}, {seq(5), seq(6)}, {seq(7), seq(8)}};
  header.sack_block_count = 4;
  auto parsed = parse(written(header));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->data_offset, 60);
  EXPECT_EQ(sack_of(*parsed), (std::vector<SackBlock>{{seq(1), seq(2)}, {seq(3), seq(4)}, {seq(5), seq(6)}}));
}

// Every combination of options written, then parsed: the options come back
// (SACK blocks as many as fit packed), the data offset matches options_length(),
// and the length is a multiple of 4 within the 40 bytes of option space.
TEST(TcpHeader, RoundTripsEveryOptionCombination) {
  for (unsigned present = 0; present < 16; ++present) {
    for (std::uint8_t blocks = 0; blocks <= TcpHeader::maximum_sack_blocks; ++blocks) {
      TcpHeader header;
      header.source_port = 49152;
      header.destination_port = 443;
      header.sequence = seq(0xfffffffe);
      header.acknowledgment = seq(0x7fffffff);
      header.flags = tcp_flag::ack | tcp_flag::psh | tcp_flag::ece | tcp_flag::cwr;
      header.window = 501;
      if (present & 1) header.mss = 8960;
      if (present & 2) header.sack_permitted = true;
      if (present & 4) header.timestamps = TcpTimestamps{0xffffffff, 0x12345678};
      if (present & 8) header.window_scale = 14;
      for (std::uint8_t i = 0; i < blocks; ++i) header.sack_blocks[i] = {seq(1000u * i), seq(1000u * i + 500)};
      header.sack_block_count = blocks;

      std::size_t fixed =
          (present & 1 ? 4 : 0) + (present & 2 ? 2 : 0) + (present & 4 ? 10 : 0) + (present & 8 ? 3 : 0);
      std::size_t fitting = blocks;
      while (fitting > 0 && fixed + 2 + 8 * fitting > TcpHeader::maximum_options_size) --fitting;

      auto bytes = written(header);
      SCOPED_TRACE(testing::Message() << "options " << present << ", blocks " << int(blocks));
      EXPECT_EQ(bytes.size(), header.header_length());
      EXPECT_EQ(header.options_length() % 4, 0u);
      EXPECT_LE(header.options_length(), TcpHeader::maximum_options_size);
      ByteReader reader(bytes);
      auto parsed = TcpHeader::parse(reader);
      ASSERT_TRUE(parsed.has_value());
      EXPECT_TRUE(reader.at_end());
      EXPECT_EQ(parsed->data_offset, bytes.size());
      EXPECT_EQ(parsed->source_port, header.source_port);
      EXPECT_EQ(parsed->destination_port, header.destination_port);
      EXPECT_EQ(parsed->sequence, header.sequence);
      EXPECT_EQ(parsed->acknowledgment, header.acknowledgment);
      EXPECT_EQ(parsed->flags, header.flags);
      EXPECT_EQ(parsed->window, header.window);
      EXPECT_EQ(parsed->mss, header.mss);
      EXPECT_EQ(parsed->sack_permitted, header.sack_permitted);
      EXPECT_EQ(parsed->timestamps, header.timestamps);
      EXPECT_EQ(parsed->window_scale, header.window_scale);
      EXPECT_EQ(sack_of(*parsed), (std::vector<SackBlock>(header.sack().begin(), header.sack().begin() + fitting)));
    }
  }
}

TEST(TcpHeader, WriteIntoTooSmallABufferFailsWithNoSpace) {
  auto header = parse(linux_syn);
  ASSERT_TRUE(header.has_value());
  for (std::size_t size : {0u, 19u, 20u, 39u}) {
    Segment buffer(size);
    ByteWriter writer(buffer);
    header->write(writer);
    EXPECT_EQ(writer.finish().error(), Errc::no_space) << size;
  }
}

TEST(TcpHeader, FormatsLikeTcpdump) {
  auto header = parse(linux_syn_ack);
  ASSERT_TRUE(header.has_value());
  StringBuilder<200> text;
  format_to(text, "{}", *header);
  EXPECT_EQ(text.view(),
            "5001 > 35768 [S.] seq=3605434290 ack=1243615645 win=65160 mss=1460 sackOK ts=3604192704/4104005217 "
            "wscale=10");
  header = parse(linux_sack_ack);
  ASSERT_TRUE(header.has_value());
  text.clear();
  format_to(text, "{}", *header);
  EXPECT_EQ(text.view(), "5001 > 35768 [.] seq=3605434291 ack=1243990077 win=530 ts=3604192713/4104005226 "
                         "sack={1243998269:1243999717}{1243991525:1243996821}");
}

} // namespace
} // namespace morgana::net
