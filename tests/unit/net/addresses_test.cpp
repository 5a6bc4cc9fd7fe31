#include <gtest/gtest.h>

#include <string>

#include "morgana/core/mac_address.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::net {
namespace {

template <class T>
std::string formatted(const T& value) {
  StringBuilder<64> text;
  format_to(text, "{}", value);
  return std::string(text.view());
}

TEST(MacAddress, ParsesColonHex) {
  MacAddress mac;
  ASSERT_TRUE(parse_value("52:54:00:12:34:56", mac).has_value());
  EXPECT_EQ(mac, (MacAddress{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}}));
  ASSERT_TRUE(parse_value("AA:bb:Cc:dD:ff:00", mac).has_value());
  EXPECT_EQ(mac, (MacAddress{{0xaa, 0xbb, 0xcc, 0xdd, 0xff, 0x00}}));
  ASSERT_TRUE(parse_value("ff:ff:ff:ff:ff:ff", mac).has_value());
  EXPECT_TRUE(mac.is_broadcast());
}

TEST(MacAddress, RejectsMalformedText) {
  for (std::string_view text : {"", "52:54:00:12:34", "52:54:00:12:34:5", "52:54:00:12:34:567", "52-54-00-12-34-56",
                                "52:54:00:12:34:5g", "52:54:00:12:34:56:", "525400123456", "52:54:00:12:34: 6",
                                " 2:54:00:12:34:56", "52:54:0:012:34:56", "52:54:00:12:34:56 "}) {
    MacAddress mac;
    auto parsed = parse_value(text, mac);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, Errc::invalid_argument) << text;
  }
}

TEST(MacAddress, FormatsLowercaseColonHex) {
  EXPECT_EQ(formatted(MacAddress{{0x02, 0xab, 0x00, 0x0f, 0xf0, 0xff}}), "02:ab:00:0f:f0:ff");
  EXPECT_EQ(formatted(MacAddress::zero()), "00:00:00:00:00:00");
}

TEST(MacAddress, ClassifiesAddresses) {
  EXPECT_TRUE(MacAddress::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddress::broadcast().is_multicast());
  // IEEE 802: the low bit of the first octet marks a group address.
  EXPECT_TRUE((MacAddress{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}}.is_multicast()));
  EXPECT_FALSE((MacAddress{{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01}}.is_multicast()));
  EXPECT_FALSE(MacAddress::zero().is_broadcast());
}

TEST(MacAddress, ReadsAndWrites) {
  const std::byte wire[6] = {std::byte{0x52}, std::byte{0x54}, std::byte{0x00},
                             std::byte{0x12}, std::byte{0x34}, std::byte{0x56}};
  ByteReader reader(wire);
  MacAddress mac;
  ASSERT_TRUE(mac.read(reader).has_value());
  EXPECT_EQ(formatted(mac), "52:54:00:12:34:56");
  std::byte out[6];
  ByteWriter writer(out);
  mac.write(writer);
  ASSERT_TRUE(writer.finish().has_value());
  EXPECT_TRUE(std::equal(std::begin(wire), std::end(wire), std::begin(out)));
  ByteReader short_reader(Bytes(wire).first(5));
  EXPECT_FALSE(mac.read(short_reader).has_value());
}

// RFC 791 §2.3 / RFC 1123 §2.1: dotted decimal, four octets.
TEST(Ipv4Address, ParsesDottedDecimal) {
  Ipv4Address address;
  ASSERT_TRUE(parse_value("10.0.0.2", address).has_value());
  EXPECT_EQ(address, Ipv4Address::from_octets(10, 0, 0, 2));
  EXPECT_EQ(address.value, 0x0a000002u);
  ASSERT_TRUE(parse_value("0.0.0.0", address).has_value());
  EXPECT_TRUE(address.is_any());
  ASSERT_TRUE(parse_value("255.255.255.255", address).has_value());
  EXPECT_TRUE(address.is_broadcast());
  ASSERT_TRUE(parse_value("192.168.100.1", address).has_value());
  EXPECT_EQ(address, Ipv4Address::from_octets(192, 168, 100, 1));
}

TEST(Ipv4Address, RejectsMalformedText) {
  // Leading zeros are refused: some parsers read them as octal.
  for (std::string_view text :
       {"",          "10",         "10.0.0",     "10.0.0.2.",   "10.0.0.2.1", ".10.0.0.2", "10..0.2",
        "256.0.0.1", "10.0.0.256", "1000.0.0.1", "010.0.0.2",   "10.0.0.02",  "10.0.0.-2", "+10.0.0.2",
        "10.0.0.2 ", " 10.0.0.2",  "a.b.c.d",    "10.0.0.2/24", "0x0a.0.0.2", "10,0,0,2"}) {
    Ipv4Address address;
    auto parsed = parse_value(text, address);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, Errc::invalid_argument) << text;
  }
}

TEST(Ipv4Address, FormatsDottedDecimal) {
  EXPECT_EQ(formatted(Ipv4Address::from_octets(10, 0, 0, 2)), "10.0.0.2");
  EXPECT_EQ(formatted(Ipv4Address::broadcast()), "255.255.255.255");
  EXPECT_EQ(formatted(Ipv4Address::any()), "0.0.0.0");
  EXPECT_EQ(formatted(Endpoint{Ipv4Address::from_octets(192, 0, 2, 1), 8080}), "192.0.2.1:8080");
}

TEST(Ipv4Address, ClassifiesAddresses) {
  EXPECT_TRUE(Ipv4Address::from_octets(224, 0, 0, 1).is_multicast());
  EXPECT_TRUE(Ipv4Address::from_octets(239, 255, 255, 255).is_multicast());
  EXPECT_FALSE(Ipv4Address::from_octets(240, 0, 0, 1).is_multicast());
  EXPECT_FALSE(Ipv4Address::from_octets(223, 255, 255, 255).is_multicast());
  EXPECT_TRUE(Ipv4Address::from_octets(127, 0, 0, 1).is_loopback());
  EXPECT_FALSE(Ipv4Address::from_octets(128, 0, 0, 1).is_loopback());
  EXPECT_LT(Ipv4Address::from_octets(9, 255, 255, 255), Ipv4Address::from_octets(10, 0, 0, 0));
}

TEST(Ipv4Address, ReadsAndWritesNetworkOrder) {
  const std::byte wire[4] = {std::byte{192}, std::byte{0}, std::byte{2}, std::byte{1}};
  ByteReader reader(wire);
  Ipv4Address address;
  ASSERT_TRUE(address.read(reader).has_value());
  EXPECT_EQ(address, Ipv4Address::from_octets(192, 0, 2, 1));
  std::byte out[4];
  ByteWriter writer(out);
  address.write(writer);
  ASSERT_TRUE(writer.finish().has_value());
  EXPECT_TRUE(std::equal(std::begin(wire), std::end(wire), std::begin(out)));
}

// RFC 4632 §3.1: address/prefix-length notation.
TEST(Ipv4Cidr, ParsesAddressAndPrefix) {
  Ipv4Cidr cidr;
  ASSERT_TRUE(parse_value("10.0.0.2/24", cidr).has_value());
  EXPECT_EQ(cidr.address, Ipv4Address::from_octets(10, 0, 0, 2));
  EXPECT_EQ(cidr.prefix_length, 24);
  ASSERT_TRUE(parse_value("0.0.0.0/0", cidr).has_value());
  EXPECT_EQ(cidr.prefix_length, 0);
  ASSERT_TRUE(parse_value("192.0.2.1/32", cidr).has_value());
  EXPECT_EQ(cidr.prefix_length, 32);
}

TEST(Ipv4Cidr, RejectsMalformedText) {
  for (std::string_view text :
       {"", "10.0.0.2", "10.0.0.2/", "/24", "10.0.0.2/33", "10.0.0.2/256", "10.0.0.2/-1", "10.0.0.2/24/8", "10.0.0/24",
        "10.0.0.2/ 24", "10.0.0.2/24 ", "10.0.0.2\\24", "10.0.0.2/x"}) {
    Ipv4Cidr cidr;
    auto parsed = parse_value(text, cidr);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, Errc::invalid_argument) << text;
  }
}

TEST(Endpoint, ParsesAddressAndPort) {
  Endpoint endpoint;
  ASSERT_TRUE(parse_value("10.0.0.1:5001", endpoint).has_value());
  EXPECT_EQ(endpoint, (Endpoint{Ipv4Address::from_octets(10, 0, 0, 1), 5001}));
  ASSERT_TRUE(parse_value("127.0.0.1:65535", endpoint).has_value());
  EXPECT_EQ(endpoint.port, 65535);
}

TEST(Endpoint, RejectsMalformedText) {
  for (std::string_view text : {"", "10.0.0.1", "10.0.0.1:", ":80", "10.0.0.1:0", "10.0.0.1:65536", "10.0.0.1:80:80",
                                "10.0.0:80", "10.0.0.1: 80", "10.0.0.1:80 ", "10.0.0.1:x", "localhost:80"}) {
    Endpoint endpoint;
    auto parsed = parse_value(text, endpoint);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, Errc::invalid_argument) << text;
  }
}

TEST(Ipv4Cidr, FormatsAndComputesNetwork) {
  Ipv4Cidr cidr{Ipv4Address::from_octets(10, 0, 0, 2), 24};
  EXPECT_EQ(formatted(cidr), "10.0.0.2/24");
  EXPECT_EQ(cidr.netmask(), 0xffffff00u);
  EXPECT_EQ(cidr.network(), Ipv4Address::from_octets(10, 0, 0, 0));
  EXPECT_EQ(cidr.directed_broadcast(), Ipv4Address::from_octets(10, 0, 0, 255));
  EXPECT_TRUE(cidr.contains(Ipv4Address::from_octets(10, 0, 0, 254)));
  EXPECT_FALSE(cidr.contains(Ipv4Address::from_octets(10, 0, 1, 1)));

  Ipv4Cidr everything{Ipv4Address::from_octets(10, 0, 0, 2), 0};
  EXPECT_EQ(everything.netmask(), 0u);
  EXPECT_TRUE(everything.contains(Ipv4Address::from_octets(203, 0, 113, 9)));
  EXPECT_EQ(everything.directed_broadcast(), Ipv4Address::broadcast());

  Ipv4Cidr host{Ipv4Address::from_octets(192, 0, 2, 1), 32};
  EXPECT_EQ(host.netmask(), 0xffffffffu);
  EXPECT_TRUE(host.contains(Ipv4Address::from_octets(192, 0, 2, 1)));
  EXPECT_FALSE(host.contains(Ipv4Address::from_octets(192, 0, 2, 2)));
  EXPECT_EQ(host.directed_broadcast(), host.address);

  Ipv4Cidr odd{Ipv4Address::from_octets(172, 16, 5, 77), 20};
  EXPECT_EQ(odd.network(), Ipv4Address::from_octets(172, 16, 0, 0));
  EXPECT_EQ(odd.directed_broadcast(), Ipv4Address::from_octets(172, 16, 15, 255));
}

} // namespace
} // namespace morgana::net
