#include "morgana/net/dhcp_message.h"

#include <gtest/gtest.h>

#include "hex.h"

#include <string_view>
#include <vector>

namespace morgana::net {
namespace {

using Message = std::vector<std::byte>;

using test_support::from_hex;

// A message from its first 34 octets (op .. the six chaddr octets), zeros up to
// the cookie (the rest of chaddr, sname, file), then the cookie and options,
// zero-padded to `total` octets as the sender padded it.
Message message(std::string_view head, std::string_view cookie_and_options, std::size_t total = 300) {
  auto out = from_hex(head);
  out.resize(DhcpMessage::fixed_size);
  auto options = from_hex(cookie_and_options);
  out.insert(out.end(), options.begin(), options.end());
  if (out.size() < total) out.resize(total);
  return out;
}

// A real exchange, captured with tcpdump between busybox udhcpc 1.35.0 (`udhcpc
// -B`, MAC 52:54:00:12:34:56) and dnsmasq 2.90 (range 192.168.77.50-150/24, 12 h
// leases, router and DNS 192.168.77.1) in two network namespaces joined by a
// veth pair. These are the UDP payloads, 300 octets each; only the long zero
// runs are abbreviated by message().
const Message captured_discover =
    message("01010600629def61 0000 8000 00000000 00000000 00000000 00000000 525400123456",
            "63825363 350101 39020240 3707 0103060c0f1c2a 3c0c 756468637020312e33352e30 3d07 01525400123456 ff");
const Message captured_offer = message(
    "02010600629def61 0000 8000 00000000 c0a84d6b c0a84d01 00000000 525400123456",
    "63825363 350102 3604c0a84d01 33040000a8c0 3a0400005460 3b04000093a8 0104ffffff00 1c04c0a84dff 0604c0a84d01 "
    "0304c0a84d01 ff");
const Message captured_request =
    message("01010600629def61 0003 8000 00000000 00000000 00000000 00000000 525400123456",
            "63825363 350103 3204c0a84d6b 3604c0a84d01 39020240 3707 0103060c0f1c2a 3c0c756468637020312e33352e30 "
            "3d0701525400123456 ff");
const Message captured_ack = message(
    "02010600629def61 0003 8000 00000000 c0a84d6b c0a84d01 00000000 525400123456",
    "63825363 350105 3604c0a84d01 33040000a8c0 3a0400005460 3b04000093a8 0104ffffff00 1c04c0a84dff 0604c0a84d01 "
    "0304c0a84d01 ff");

constexpr MacAddress client_mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
constexpr Ipv4Address server = Ipv4Address::from_octets(192, 168, 77, 1);
constexpr Ipv4Address offered = Ipv4Address::from_octets(192, 168, 77, 107);

// A minimal valid message (a DISCOVER head) followed by the given options.
Message with_options(std::string_view options) {
  return message("01010600 00000001 0000 0000 00000000 00000000 00000000 00000000 525400123456",
                 std::string("63825363 ").append(options), 0);
}

Message written(const DhcpMessage& message) {
  Message buffer(DhcpMessage::maximum_size);
  ByteWriter writer(buffer);
  message.write(writer);
  auto bytes = writer.finish();
  EXPECT_TRUE(bytes.has_value());
  buffer.resize(bytes ? bytes->size() : 0);
  return buffer;
}

std::vector<std::uint8_t> list(const BoundedList<std::uint8_t, 255>& bytes) { return {bytes.begin(), bytes.end()}; }
std::vector<Ipv4Address> list(const BoundedList<Ipv4Address, 8>& addresses) {
  return {addresses.begin(), addresses.end()};
}

TEST(DhcpMessage, ParsesCapturedDiscover) {
  auto parsed = DhcpMessage::parse(captured_discover);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().context;
  EXPECT_EQ(parsed->op, DhcpMessage::bootrequest);
  EXPECT_EQ(parsed->htype, 1);
  EXPECT_EQ(parsed->hlen, 6);
  EXPECT_EQ(parsed->hops, 0);
  EXPECT_EQ(parsed->xid, 0x629def61u);
  EXPECT_EQ(parsed->secs, 0);
  EXPECT_EQ(parsed->flags, DhcpMessage::broadcast_flag);
  EXPECT_TRUE(parsed->ciaddr.is_any());
  EXPECT_EQ(parsed->client_mac(), client_mac);
  EXPECT_EQ(parsed->message_type, DhcpMessageType::discover);
  EXPECT_EQ(list(parsed->parameter_request_list), (std::vector<std::uint8_t>{1, 3, 6, 12, 15, 28, 42}));
  EXPECT_EQ(list(parsed->client_identifier), (std::vector<std::uint8_t>{1, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56}));
  EXPECT_FALSE(parsed->server_identifier.has_value());
  EXPECT_FALSE(parsed->requested_ip_address.has_value());
}

TEST(DhcpMessage, ParsesCapturedOffer) {
  auto parsed = DhcpMessage::parse(captured_offer);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().context;
  EXPECT_EQ(parsed->op, DhcpMessage::bootreply);
  EXPECT_EQ(parsed->xid, 0x629def61u);
  EXPECT_EQ(parsed->yiaddr, offered);
  EXPECT_EQ(parsed->siaddr, server);
  EXPECT_TRUE(parsed->giaddr.is_any());
  EXPECT_EQ(parsed->client_mac(), client_mac);
  EXPECT_EQ(parsed->message_type, DhcpMessageType::offer);
  EXPECT_EQ(parsed->server_identifier, server);
  EXPECT_EQ(parsed->ip_address_lease_time, 43200u);
  EXPECT_EQ(parsed->renewal_time_value, 21600u);
  EXPECT_EQ(parsed->rebinding_time_value, 37800u);
  EXPECT_EQ(parsed->subnet_mask, Ipv4Address::from_octets(255, 255, 255, 0));
  EXPECT_EQ(list(parsed->routers), std::vector<Ipv4Address>{server});
  EXPECT_EQ(list(parsed->domain_name_servers), std::vector<Ipv4Address>{server});
}

TEST(DhcpMessage, ParsesCapturedRequest) {
  auto parsed = DhcpMessage::parse(captured_request);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().context;
  EXPECT_EQ(parsed->message_type, DhcpMessageType::request);
  EXPECT_EQ(parsed->secs, 3);
  EXPECT_EQ(parsed->requested_ip_address, offered);
  EXPECT_EQ(parsed->server_identifier, server);
  EXPECT_TRUE(parsed->ciaddr.is_any());
}

TEST(DhcpMessage, ParsesCapturedAck) {
  auto parsed = DhcpMessage::parse(captured_ack);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().context;
  EXPECT_EQ(parsed->message_type, DhcpMessageType::ack);
  EXPECT_EQ(parsed->yiaddr, offered);
  EXPECT_EQ(parsed->secs, 3);
  EXPECT_EQ(parsed->ip_address_lease_time, 43200u);
  EXPECT_EQ(parsed->server_identifier, server);
}

// Our DISCOVER for the same xid and MAC has udhcpc's fixed part and cookie byte for byte.
TEST(DhcpMessage, DiscoverFixedPartMatchesCapture) {
  auto bytes = written(DhcpMessage::discover(0x629def61, client_mac, 0));
  ASSERT_EQ(bytes.size(), DhcpMessage::bootp_minimum_size);
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.begin() + DhcpMessage::minimum_size, captured_discover.begin()));
  // Then: type DISCOVER, client identifier, parameter request list, END, zero padding.
  auto options = from_hex("350101 3d0701525400123456 3706 010306333a3b ff");
  EXPECT_TRUE(std::equal(options.begin(), options.end(), bytes.begin() + DhcpMessage::minimum_size));
  for (auto i = DhcpMessage::minimum_size + options.size(); i < bytes.size(); ++i) EXPECT_EQ(bytes[i], std::byte{0});
}

TEST(DhcpMessage, RequestSelectingCarriesOfferedAddressAndServer) {
  auto offer = DhcpMessage::parse(captured_offer);
  ASSERT_TRUE(offer.has_value());
  auto request = DhcpMessage::parse(written(DhcpMessage::request_selecting(*offer, client_mac, 3)));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->op, DhcpMessage::bootrequest);
  EXPECT_EQ(request->xid, 0x629def61u);
  EXPECT_EQ(request->secs, 3);
  EXPECT_EQ(request->flags, DhcpMessage::broadcast_flag);
  EXPECT_TRUE(request->ciaddr.is_any());
  EXPECT_EQ(request->message_type, DhcpMessageType::request);
  EXPECT_EQ(request->requested_ip_address, offered);
  EXPECT_EQ(request->server_identifier, server);
  EXPECT_EQ(request->client_mac(), client_mac);
  // The fields udhcpc's REQUEST shares with ours agree.
  auto theirs = DhcpMessage::parse(captured_request);
  ASSERT_TRUE(theirs.has_value());
  EXPECT_EQ(request->requested_ip_address, theirs->requested_ip_address);
  EXPECT_EQ(request->server_identifier, theirs->server_identifier);
  EXPECT_EQ(request->chaddr, theirs->chaddr);
  EXPECT_EQ(request->client_identifier, theirs->client_identifier);
}

TEST(DhcpMessage, RenewingAndRebindingRequestsUseCiaddrOnly) {
  for (auto built : {DhcpMessage::request_renewing(7, client_mac, offered, 5),
                     DhcpMessage::request_rebinding(7, client_mac, offered, 5)}) {
    auto request = DhcpMessage::parse(written(built));
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(request->message_type, DhcpMessageType::request);
    EXPECT_EQ(request->ciaddr, offered);
    EXPECT_EQ(request->flags, 0);
    EXPECT_FALSE(request->server_identifier.has_value());
    EXPECT_FALSE(request->requested_ip_address.has_value());
  }
}

TEST(DhcpMessage, ReleaseNamesServerAndAddress) {
  auto release = DhcpMessage::parse(written(DhcpMessage::release(9, client_mac, offered, server)));
  ASSERT_TRUE(release.has_value());
  EXPECT_EQ(release->message_type, DhcpMessageType::release);
  EXPECT_EQ(release->ciaddr, offered);
  EXPECT_EQ(release->server_identifier, server);
  EXPECT_TRUE(release->parameter_request_list.empty());
}

TEST(DhcpMessage, RoundTripsCapturedMessages) {
  for (const auto* bytes : {&captured_discover, &captured_offer, &captured_request, &captured_ack}) {
    auto first = DhcpMessage::parse(*bytes);
    ASSERT_TRUE(first.has_value());
    auto second = DhcpMessage::parse(written(*first));
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(*first, *second);
  }
}

TEST(DhcpMessage, WriteReportsOverflow) {
  Message small(DhcpMessage::fixed_size);
  ByteWriter writer(small);
  DhcpMessage::discover(1, client_mac, 0).write(writer);
  auto result = writer.finish();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error(), Errc::no_space);
}

TEST(DhcpMessage, RejectsTruncatedFixedPart) {
  auto bytes = captured_offer;
  bytes.resize(DhcpMessage::fixed_size - 1);
  auto parsed = DhcpMessage::parse(bytes);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error(), Errc::truncated);
  EXPECT_FALSE(DhcpMessage::parse(Bytes{}).has_value());
}

TEST(DhcpMessage, RejectsMissingCookie) {
  auto bytes = captured_offer;
  bytes.resize(DhcpMessage::fixed_size);
  auto parsed = DhcpMessage::parse(bytes);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error(), Errc::truncated);

  bytes = captured_offer;
  bytes[DhcpMessage::fixed_size + 3] = std::byte{0x64}; // 99.130.83.100
  parsed = DhcpMessage::parse(bytes);
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error(), Errc::malformed);
}

TEST(DhcpMessage, RejectsOptionLengthPastEnd) {
  // A router option claiming 8 octets with 4 left.
  auto parsed = DhcpMessage::parse(with_options("350102 0308 c0a84d01"));
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error(), Errc::truncated);
  // An option code with no length octet after it.
  parsed = DhcpMessage::parse(with_options("350102 36"));
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error(), Errc::truncated);
  // An unknown option's length is checked as well.
  parsed = DhcpMessage::parse(with_options("350102 fa10 0000"));
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error(), Errc::truncated);
}

TEST(DhcpMessage, RejectsOptionsWithForbiddenLengths) {
  for (auto options : {
           "350201 ff",                    // message type of two octets
           "3500 ff",                      // message type of none
           "0103ffffff ff",                // subnet mask of three octets
           "0305c0a84d0101 ff",            // router list not a multiple of four
           "0600 ff",                      // empty DNS server list
           "3303000e10 ff",                // lease time of three octets
           "3a050000000e10 ff",            // T1 of five octets
           "3b00 ff",                      // T2 of none
           "3602c0a8 ff",                  // server identifier of two octets
           "3203c0a84d ff",                // requested address of three octets
           "3700 ff",                      // empty parameter request list
           "3d0101 ff",                    // client identifier of one octet
           "3604c0a84d01 3604c0a84d02 ff", // server identifier twice (RFC 3396 concatenation: 8 octets)
           "350102 350105 ff",             // message type twice
       }) {
    auto parsed = DhcpMessage::parse(with_options(options));
    ASSERT_FALSE(parsed.has_value()) << options;
    EXPECT_EQ(parsed.error(), Errc::malformed) << options;
    EXPECT_FALSE(parsed.error().context.empty()) << options;
  }
}

TEST(DhcpMessage, PadEndAndUnknownOptions) {
  // PADs anywhere, an unknown option, option overload (ignored), and bytes after END that are no valid option.
  auto parsed = DhcpMessage::parse(with_options("00 350105 0000 fb03010203 340103 00 3304 00000e10 ff 03ff"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().context;
  EXPECT_EQ(parsed->message_type, DhcpMessageType::ack);
  EXPECT_EQ(parsed->ip_address_lease_time, 3600u);
  EXPECT_TRUE(parsed->routers.empty());
}

TEST(DhcpMessage, OverloadedSnameIsNotRead) {
  // Option 52 says sname holds options; they are ignored, not parsed.
  auto bytes = with_options("350105 340102 ff");
  bytes[44] = std::byte{dhcp_option::ip_address_lease_time};
  bytes[45] = std::byte{4};
  auto parsed = DhcpMessage::parse(bytes);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_FALSE(parsed->ip_address_lease_time.has_value());
}

TEST(DhcpMessage, MissingEndKeepsOptionsRead) {
  auto parsed = DhcpMessage::parse(with_options("350102 3604c0a84d01"));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->server_identifier, server);
}

TEST(DhcpMessage, RepeatedListOptionsConcatenate) {
  // RFC 3396: a long option split into several instances.
  auto parsed = DhcpMessage::parse(with_options("0604c0a84d01 0608c0a84d02c0a84d03 ff"));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(list(parsed->domain_name_servers),
            (std::vector<Ipv4Address>{server, Ipv4Address::from_octets(192, 168, 77, 2),
                                      Ipv4Address::from_octets(192, 168, 77, 3)}));
}

TEST(DhcpMessage, ListsBeyondCapacityKeepTheFirstEntries) {
  // Ten routers, 10.0.0.1 to 10.0.0.10.
  auto parsed = DhcpMessage::parse(with_options("0328 0a000001 0a000002 0a000003 0a000004 0a000005 0a000006 "
                                                "0a000007 0a000008 0a000009 0a00000a ff"));
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->routers.size(), 8u);
  EXPECT_EQ(parsed->routers[0], Ipv4Address::from_octets(10, 0, 0, 1));
  EXPECT_EQ(parsed->routers[7], Ipv4Address::from_octets(10, 0, 0, 8));
}

TEST(DhcpMessage, ClientMacNeedsEthernetHardwareType) {
  auto parsed = DhcpMessage::parse(captured_offer);
  ASSERT_TRUE(parsed.has_value());
  parsed->hlen = 16;
  EXPECT_FALSE(parsed->client_mac().has_value());
  parsed->hlen = 6;
  parsed->htype = 6; // IEEE 802 networks
  EXPECT_FALSE(parsed->client_mac().has_value());
}

TEST(DhcpMessage, PrefixLengthOfNetmask) {
  EXPECT_EQ(prefix_length_of(Ipv4Address::from_octets(255, 255, 255, 0)), 24);
  EXPECT_EQ(prefix_length_of(Ipv4Address::from_octets(255, 255, 240, 0)), 20);
  EXPECT_EQ(prefix_length_of(Ipv4Address::any()), 0);
  EXPECT_EQ(prefix_length_of(Ipv4Address::broadcast()), 32);
  auto holes = prefix_length_of(Ipv4Address::from_octets(255, 0, 255, 0));
  ASSERT_FALSE(holes.has_value());
  EXPECT_EQ(holes.error(), Errc::malformed);
}

} // namespace
} // namespace morgana::net
