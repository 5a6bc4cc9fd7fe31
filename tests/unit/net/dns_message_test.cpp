#include "morgana/net/dns_message.h"

#include <gtest/gtest.h>

#include "hex.h"

#include <string>
#include <vector>

namespace morgana::net {
namespace {

using test_support::from_hex;

std::string text_of(const DnsName& name) {
  StringBuilder<1100> text;
  name.format(text);
  return std::string(text.view());
}

DnsName name(std::string_view text) { return MUST(DnsName::from_text(text)); }

Ipv4Address ip(std::string_view text) { return MUST(parse_ipv4(text)); }

// Captured from dnsmasq 2.90 (in a private network namespace, listening on
// 127.0.0.1:5353) started with --local-ttl=300 --local=/example.test/
// --cname=www.example.test,cdn.example.test --cname=cdn.example.test,web.example.test
// --host-record=web.example.test,192.0.2.10 --host-record=web.example.test,192.0.2.11
// and asked for "www.example.test" A IN with ID 0x1234, RD set. Owner names are
// compression pointers: c00c (the question), c02e and c04c (CNAME targets).
constexpr std::string_view dnsmasq_query = "12340100000100000000000003777777076578616d706c6504746573740000010001";
constexpr std::string_view dnsmasq_cname_chain = "1234 8580 0001 0004 0000 0000"
                                                 " 03777777 076578616d706c65 0474657374 00 0001 0001"
                                                 " c00c 0005 0001 0000012c 0012 0363646e 076578616d706c65 0474657374 00"
                                                 " c02e 0005 0001 0000012c 0012 03776562 076578616d706c65 0474657374 00"
                                                 " c04c 0001 0001 0000012c 0004 c000020a"
                                                 " c04c 0001 0001 0000012c 0004 c000020b";
// The same dnsmasq asked for "nothere.example.test" (ID 0xbeef): NXDOMAIN.
constexpr std::string_view dnsmasq_nxdomain =
    "beef 8183 0001 0000 0000 0000 076e6f7468657265 076578616d706c65 0474657374 00 0001 0001";

// Built by hand following RFC 1035 §4.1.4, with pointers after labels and
// inside CNAME RDATA, for "a.example.org":
//   12  question a.example.org             ("example.org" starts at 14)
//   31  a.example.org (c00c) CNAME, TTL 600, RDATA at 43: "cn" + c00e
//   48  cn.example.org (c02b) CNAME, TTL 3600, RDATA at 60: "host" + c00e
//   67  host.example.org (c03c) A 198.51.100.7, TTL 7200
constexpr std::string_view hand_built_chain = "abcd 8180 0001 0003 0000 0000"
                                              " 0161 076578616d706c65 036f7267 00 0001 0001"
                                              " c00c 0005 0001 00000258 0005 02636e c00e"
                                              " c02b 0005 0001 00000e10 0007 04686f7374 c00e"
                                              " c03c 0001 0001 00001c20 0004 c6336407";

// Header and question for a.example.org (ID abcd, QR RD RA, one answer), 31 bytes.
constexpr std::string_view header_and_question =
    "abcd 8180 0001 0001 0000 0000 0161 076578616d706c65 036f7267 00 0001 0001";

TEST(DnsName, FromTextWritesWireLabels) {
  auto www = name("www.example.test");
  EXPECT_EQ(std::vector(www.wire().begin(), www.wire().end()), from_hex("03777777076578616d706c650474657374 00"));
  EXPECT_EQ(text_of(www), "www.example.test");
}

TEST(DnsName, TrailingDotAndCaseDoNotMatter) {
  EXPECT_EQ(name("WWW.Example.Test."), name("www.example.test"));
  EXPECT_FALSE(name("www.example.test") == name("ww.example.test"));
  EXPECT_FALSE(name("a.example.test") == name("b.example.test"));
}

TEST(DnsName, AcceptsLettersDigitsHyphenUnderscore) {
  EXPECT_TRUE(DnsName::from_text("_sip._tcp.Host-1.example"));
  EXPECT_TRUE(DnsName::from_text("localhost"));
}

TEST(DnsName, RejectsBadText) {
  for (auto bad : {"", ".", "a..b", ".a", "exa mple.com", "a/b", "caf\xc3\xa9.example", "a\\.b", "a*.b"}) {
    auto result = DnsName::from_text(bad);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error(), Errc::invalid_argument) << bad;
  }
}

TEST(DnsName, LabelOf63BytesIsTheLimit) {
  std::string label63(63, 'a');
  EXPECT_TRUE(DnsName::from_text(label63 + ".example"));
  auto result = DnsName::from_text(label63 + "a.example");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Errc::invalid_argument);
}

TEST(DnsName, WholeNameOf255WireBytesIsTheLimit) {
  std::string label63(63, 'a');
  // 3 * (1 + 63) + (1 + 61) + 1 root byte = 255.
  auto longest = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  auto ok = DnsName::from_text(longest);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->wire().size(), 255u);
  EXPECT_FALSE(DnsName::from_text(longest + "b"));
  EXPECT_FALSE(DnsName::from_text(longest + ".c"));
}

TEST(DnsName, FormatEscapesBytesThatAreNotPrintable) {
  // Labels "a.b", "x\" and 0x07 0x41, read from a message (names on the wire may hold any byte).
  auto bytes = from_hex("0000 0000 0000 0000 0000 0000 03612e62 02785c 020741 00");
  ByteReader reader(bytes);
  MUST(reader.skip(DnsHeader::size));
  auto read = DnsName::read(reader);
  ASSERT_TRUE(read);
  EXPECT_EQ(text_of(*read), "a\\.b.x\\\\.\\007A");
  EXPECT_EQ(text_of(DnsName{}), ".");
}

TEST(DnsMessage, WriteQueryMatchesWhatDnsmasqWasAsked) {
  std::array<std::byte, dns::max_udp_message> buffer;
  auto query = DnsMessage::write_query(buffer, 0x1234, name("www.example.test"));
  ASSERT_TRUE(query);
  EXPECT_EQ(std::vector(query->begin(), query->end()), from_hex(dnsmasq_query));
}

TEST(DnsMessage, WriteQueryReportsNoSpace) {
  std::array<std::byte, 20> buffer;
  auto query = DnsMessage::write_query(buffer, 1, name("www.example.test"));
  ASSERT_FALSE(query);
  EXPECT_EQ(query.error(), Errc::no_space);
}

TEST(DnsMessage, QueryParsesBack) {
  std::array<std::byte, dns::max_udp_message> buffer;
  auto query = MUST(DnsMessage::write_query(buffer, 0x5678, name("host.example")));
  auto parsed = DnsMessage::parse(query);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->header().id, 0x5678);
  EXPECT_FALSE(parsed->header().qr);
  EXPECT_TRUE(parsed->header().rd);
  ASSERT_EQ(parsed->questions().size(), 1u);
  EXPECT_EQ(parsed->questions()[0], (DnsQuestion{name("host.example"), dns::type_a, dns::class_in}));
}

TEST(DnsMessage, ParsesDnsmasqCnameChain) {
  auto bytes = from_hex(dnsmasq_cname_chain);
  auto message = DnsMessage::parse(bytes);
  ASSERT_TRUE(message) << message.error().context;
  const auto& header = message->header();
  EXPECT_EQ(header.id, 0x1234);
  EXPECT_TRUE(header.qr);
  EXPECT_TRUE(header.aa);
  EXPECT_TRUE(header.rd);
  EXPECT_TRUE(header.ra);
  EXPECT_FALSE(header.tc);
  EXPECT_EQ(header.rcode, dns::rcode_no_error);
  ASSERT_EQ(message->questions().size(), 1u);
  EXPECT_EQ(message->questions()[0].qname, name("www.example.test"));
  ASSERT_EQ(message->answers().size(), 4u);
  EXPECT_EQ(message->answers()[0].name, name("www.example.test"));
  EXPECT_EQ(message->answers()[0].type, dns::type_cname);
  EXPECT_EQ(message->answers()[0].cname, name("cdn.example.test"));
  EXPECT_EQ(message->answers()[1].name, name("cdn.example.test"));
  EXPECT_EQ(message->answers()[1].cname, name("web.example.test"));
  EXPECT_EQ(message->answers()[2].name, name("web.example.test"));
  EXPECT_EQ(message->answers()[2].ttl, 300u);

  auto addresses = message->a_records(name("www.example.test"));
  ASSERT_TRUE(addresses);
  EXPECT_EQ(*addresses, (std::vector<DnsAddress>{{ip("192.0.2.10"), 300}, {ip("192.0.2.11"), 300}}));
  // The middle of the chain resolves too; an unrelated name does not.
  EXPECT_TRUE(message->a_records(name("CDN.example.test")));
  auto other = message->a_records(name("mail.example.test"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error(), Errc::not_found);
}

TEST(DnsMessage, ParsesPointersAfterLabelsAndInsideRdata) {
  auto bytes = from_hex(hand_built_chain);
  ASSERT_EQ(bytes.size(), 83u);
  auto message = DnsMessage::parse(bytes);
  ASSERT_TRUE(message) << message.error().context;
  ASSERT_EQ(message->answers().size(), 3u);
  EXPECT_EQ(message->answers()[0].cname, name("cn.example.org"));
  EXPECT_EQ(message->answers()[1].name, name("cn.example.org"));
  EXPECT_EQ(message->answers()[1].cname, name("host.example.org"));
  EXPECT_EQ(message->answers()[2].name, name("host.example.org"));
  auto addresses = message->a_records(name("a.example.org"));
  ASSERT_TRUE(addresses);
  // The smallest TTL along the chain: the first CNAME's 600 s.
  EXPECT_EQ(*addresses, (std::vector<DnsAddress>{{ip("198.51.100.7"), 600}}));
}

TEST(DnsMessage, NxdomainIsNotFound) {
  auto bytes = from_hex(dnsmasq_nxdomain);
  auto message = DnsMessage::parse(bytes);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->header().rcode, dns::rcode_name_error);
  auto addresses = message->a_records(name("nothere.example.test"));
  ASSERT_FALSE(addresses);
  EXPECT_EQ(addresses.error(), Errc::not_found);
  EXPECT_NE(addresses.error().context.find("NXDOMAIN"), std::string_view::npos);
}

TEST(DnsMessage, NoAnswersIsNodata) {
  auto bytes = from_hex("abcd 8180 0001 0000 0000 0000 0161 076578616d706c65 036f7267 00 0001 0001");
  auto message = DnsMessage::parse(bytes);
  ASSERT_TRUE(message);
  auto addresses = message->a_records(name("a.example.org"));
  ASSERT_FALSE(addresses);
  EXPECT_EQ(addresses.error(), Errc::not_found);
  EXPECT_NE(addresses.error().context.find("NODATA"), std::string_view::npos);
}

TEST(DnsMessage, ErrorRcodesCarryContext) {
  struct Case {
    std::uint8_t rcode;
    Errc expected;
    std::string_view mention;
  };
  for (auto [rcode, expected, mention] :
       {Case{1, Errc::malformed, "FORMERR"}, Case{2, Errc::io_error, "SERVFAIL"}, Case{4, Errc::unsupported, "NOTIMP"},
        Case{5, Errc::io_error, "REFUSED"}, Case{9, Errc::io_error, "RCODE"}}) {
    auto bytes = from_hex(dnsmasq_cname_chain);
    bytes[3] = std::byte(0x80 | rcode);
    auto message = DnsMessage::parse(bytes);
    ASSERT_TRUE(message);
    auto addresses = message->a_records(name("www.example.test"));
    ASSERT_FALSE(addresses) << int(rcode);
    EXPECT_EQ(addresses.error(), expected) << int(rcode);
    EXPECT_NE(addresses.error().context.find(mention), std::string_view::npos) << addresses.error().context;
  }
}

TEST(DnsMessage, TtlWithTopBitSetCountsAsZero) {
  // RFC 2181 §8.
  auto bytes = from_hex(std::string(header_and_question) + " c00c 0001 0001 80000001 0004 c0000201");
  auto message = DnsMessage::parse(bytes);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->answers()[0].ttl, 0u);
}

TEST(DnsMessage, PointerToItselfIsRejected) {
  // The question name: label "a", then a pointer back to offset 12 where it began.
  auto bytes = from_hex("0001 8180 0001 0000 0000 0000 0161 c00c 0001 0001");
  auto message = DnsMessage::parse(bytes);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::malformed);
}

TEST(DnsMessage, PointerLoopIsRejected) {
  // Answer owner at 31: label "b" then a pointer at 33 back to 31. The pointer
  // is before its own position but inside the labels it came from: a loop.
  auto bytes = from_hex(std::string(header_and_question) + " 0162 c01f 0001 0001 00000000 0004 c0000201");
  auto message = DnsMessage::parse(bytes);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::malformed);
}

TEST(DnsMessage, TwoPointersToEachOtherAreRejected) {
  // A record at 31 whose RDATA holds, at 43, a pointer to 45, and at 45 a
  // pointer to 43; the second answer's owner (at 47) points to 45.
  auto bytes = from_hex("abcd 8180 0001 0002 0000 0000 0161 076578616d706c65 036f7267 00 0001 0001"
                        " c00c 0010 0001 00000000 0004 c02d c02b"
                        " c02d 0001 0001 00000000 0004 c0000201");
  auto message = DnsMessage::parse(bytes);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::malformed);
}

TEST(DnsMessage, ForwardPointerIsRejected) {
  // The answer's owner at 31 points to offset 47, later in the message (a valid name there).
  auto bytes = from_hex(std::string(header_and_question) + " c02f 0001 0001 00000000 0004 c0000201 0162 00");
  auto message = DnsMessage::parse(bytes);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::malformed);
}

TEST(DnsMessage, PointerIntoHeaderIsRejected) {
  auto bytes = from_hex(std::string(header_and_question) + " c004 0001 0001 00000000 0004 c0000201");
  auto message = DnsMessage::parse(bytes);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::malformed);
}

TEST(DnsMessage, PointerChainsAreBounded) {
  // A TXT record (skipped) whose RDATA is a chain of pointers, each to the one
  // before, the first to the question; then an A record owned by the last.
  auto build = [](int links) {
    auto bytes = from_hex(header_and_question);
    bytes[7] = std::byte{2}; // ANCOUNT
    auto rdata_start = bytes.size() + 12;
    for (auto b : from_hex("c00c 0010 0001 00000000")) bytes.push_back(b);
    bytes.push_back(std::byte((2 * links) >> 8));
    bytes.push_back(std::byte((2 * links) & 0xff));
    for (int i = 0; i < links; ++i) {
      auto target = i == 0 ? std::size_t{12} : rdata_start + 2 * (i - 1);
      bytes.push_back(std::byte(0xc0 | (target >> 8)));
      bytes.push_back(std::byte(target & 0xff));
    }
    auto last = rdata_start + 2 * (links - 1);
    bytes.push_back(std::byte(0xc0 | (last >> 8)));
    bytes.push_back(std::byte(last & 0xff));
    for (auto b : from_hex("0001 0001 00000000 0004 c0000201")) bytes.push_back(b);
    return bytes;
  };
  auto short_chain = build(DnsName::max_pointer_jumps - 1);
  auto ok = DnsMessage::parse(short_chain);
  ASSERT_TRUE(ok) << ok.error().context;
  EXPECT_EQ(ok->answers()[1].name, name("a.example.org"));

  auto long_chain = build(DnsName::max_pointer_jumps);
  auto message = DnsMessage::parse(long_chain);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::malformed);
}

TEST(DnsMessage, NameOver255BytesThroughPointersIsRejected) {
  // The question has three 63-byte labels (193 bytes); the answer's owner adds
  // a fourth through a pointer: 64 + 193 = 257 bytes.
  std::string label63 = "3f" + std::string(126, '6');
  std::string question = label63 + label63 + label63 + "00 0001 0001";
  auto bytes =
      from_hex("0001 8180 0001 0001 0000 0000 " + question + label63 + "c00c 0001 0001 00000000 0004 c0000201");
  auto message = DnsMessage::parse(bytes);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::malformed);

  // With a 61-byte label it fits exactly: 62 + 193 = 255.
  std::string label61 = "3d" + std::string(122, '6');
  auto fits = from_hex("0001 8180 0001 0001 0000 0000 " + question + label61 + "c00c 0001 0001 00000000 0004 c0000201");
  auto parsed = DnsMessage::parse(fits);
  ASSERT_TRUE(parsed) << parsed.error().context;
  EXPECT_EQ(parsed->answers()[0].name.wire().size(), 255u);
}

TEST(DnsMessage, ReservedLabelTypesAreRejected) {
  // 0x40 and 0x80 prefixes (a 64-byte "label", RFC 6891's extended types).
  for (auto prefix : {"40", "80", "7f"}) {
    auto bytes = from_hex(std::string("0001 8180 0001 0000 0000 0000 ") + prefix + "61 00 0001 0001");
    auto message = DnsMessage::parse(bytes);
    ASSERT_FALSE(message) << prefix;
    EXPECT_EQ(message.error(), Errc::malformed) << prefix;
  }
}

TEST(DnsMessage, EveryTruncationFails) {
  for (auto hex : {dnsmasq_cname_chain, std::string_view(hand_built_chain), dnsmasq_nxdomain}) {
    auto bytes = from_hex(hex);
    for (std::size_t length = 0; length < bytes.size(); ++length) {
      auto message = DnsMessage::parse(std::span(bytes).first(length));
      ASSERT_FALSE(message) << length;
      EXPECT_TRUE(message.error() == Errc::truncated || message.error() == Errc::malformed) << length;
    }
  }
}

TEST(DnsMessage, RdataLengthIsChecked) {
  // RDLENGTH says 8 but only 4 bytes follow.
  auto short_rdata = from_hex(std::string(header_and_question) + " c00c 0001 0001 00000000 0008 c0000201");
  auto message = DnsMessage::parse(short_rdata);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::truncated);

  // An A record must carry exactly 4 bytes.
  auto long_a = from_hex(std::string(header_and_question) + " c00c 0001 0001 00000000 0005 c000020101");
  message = DnsMessage::parse(long_a);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::malformed);

  // A CNAME whose name does not fill RDLENGTH, and one that runs past it.
  auto slack = from_hex(std::string(header_and_question) + " c00c 0005 0001 00000000 0004 c00e 0000");
  message = DnsMessage::parse(slack);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::malformed);
  auto overrun = from_hex(std::string(header_and_question) + " c00c 0005 0001 00000000 0002 0162 c00e");
  message = DnsMessage::parse(overrun);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::malformed);
}

TEST(DnsMessage, UnknownTypesAreSkipped) {
  // An AAAA record (16 bytes) before the A record.
  auto bytes = from_hex("abcd 8180 0001 0002 0000 0000 0161 076578616d706c65 036f7267 00 0001 0001"
                        " c00c 001c 0001 00000e10 0010 20010db8000000000000000000000001"
                        " c00c 0001 0001 00000e10 0004 c0000201");
  auto message = DnsMessage::parse(bytes);
  ASSERT_TRUE(message);
  auto addresses = message->a_records(name("a.example.org"));
  ASSERT_TRUE(addresses);
  EXPECT_EQ(*addresses, (std::vector<DnsAddress>{{ip("192.0.2.1"), 3600}}));
}

TEST(DnsMessage, CnameLoopIsMalformed) {
  // a.example.org CNAME b.example.org (RDATA at 43: "b" + c00e); b.example.org CNAME a.example.org.
  auto bytes = from_hex("abcd 8180 0001 0002 0000 0000 0161 076578616d706c65 036f7267 00 0001 0001"
                        " c00c 0005 0001 00000e10 0004 0162 c00e"
                        " c02b 0005 0001 00000e10 0002 c00c");
  auto message = DnsMessage::parse(bytes);
  ASSERT_TRUE(message) << message.error().context;
  auto addresses = message->a_records(name("a.example.org"));
  ASSERT_FALSE(addresses);
  EXPECT_EQ(addresses.error(), Errc::malformed);
}

TEST(DnsMessage, TooManyRecordsAreRefused) {
  auto bytes = from_hex(dnsmasq_cname_chain);
  bytes[6] = std::byte{0xff}; // ANCOUNT 0xff04
  auto message = DnsMessage::parse(bytes);
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), Errc::limit_reached);
}

} // namespace
} // namespace morgana::net
