#include "morgana/net/dhcp_message.h"

namespace morgana::net {
namespace {

// sname (64) and file (128) octets: not read; RFC 2132 §9.3 overload is ignored.
constexpr std::size_t sname_and_file_size = 64 + 128;

// The parameters this client asks for (RFC 2132 §9.8).
constexpr std::uint8_t requested_parameters[] = {
    dhcp_option::subnet_mask,        dhcp_option::router,
    dhcp_option::domain_name_server, dhcp_option::ip_address_lease_time,
    dhcp_option::renewal_time_value, dhcp_option::rebinding_time_value,
};

// One option that holds a single 32-bit value (an address or a time).
Result<std::uint32_t> read_u32_option(ByteReader& value, bool already_present, std::string_view name) {
  // RFC 3396 §5: repeated options concatenate, which no fixed 4-byte option survives.
  if (already_present || value.remaining() != 4) return fail(Errc::malformed, name);
  return MUST(value.u32());
}

Result<void> read_address_option(ByteReader& value, std::optional<Ipv4Address>& out, std::string_view name) {
  out = Ipv4Address{TRY(read_u32_option(value, out.has_value(), name))};
  return {};
}

Result<void> read_time_option(ByteReader& value, std::optional<std::uint32_t>& out, std::string_view name) {
  out = TRY(read_u32_option(value, out.has_value(), name));
  return {};
}

// Router and DNS server lists: one or more addresses (RFC 2132 §3.5, §3.8).
Result<void> read_address_list(ByteReader& value, BoundedList<Ipv4Address, 8>& out, std::string_view name) {
  if (value.remaining() == 0 || value.remaining() % 4 != 0) return fail(Errc::malformed, name);
  while (!value.at_end()) out.push_back(Ipv4Address{MUST(value.u32())});
  return {};
}

Result<void> read_byte_list(ByteReader& value, BoundedList<std::uint8_t, 255>& out, std::size_t minimum_length,
                            std::string_view name) {
  if (value.remaining() < minimum_length) return fail(Errc::malformed, name);
  while (!value.at_end()) out.push_back(MUST(value.u8()));
  return {};
}

Result<void> read_option(std::uint8_t code, ByteReader& value, DhcpMessage& message) {
  switch (code) {
  case dhcp_option::dhcp_message_type:
    // RFC 2132 §9.6: length 1.
    if (message.message_type || value.remaining() != 1) return fail(Errc::malformed, "dhcp message type option length");
    message.message_type = DhcpMessageType{MUST(value.u8())};
    return {};
  case dhcp_option::subnet_mask:
    return read_address_option(value, message.subnet_mask, "dhcp subnet mask option length");
  case dhcp_option::router: return read_address_list(value, message.routers, "dhcp router option length");
  case dhcp_option::domain_name_server:
    return read_address_list(value, message.domain_name_servers, "dhcp domain name server option length");
  case dhcp_option::ip_address_lease_time:
    return read_time_option(value, message.ip_address_lease_time, "dhcp lease time option length");
  case dhcp_option::renewal_time_value:
    return read_time_option(value, message.renewal_time_value, "dhcp renewal time option length");
  case dhcp_option::rebinding_time_value:
    return read_time_option(value, message.rebinding_time_value, "dhcp rebinding time option length");
  case dhcp_option::server_identifier:
    return read_address_option(value, message.server_identifier, "dhcp server identifier option length");
  case dhcp_option::requested_ip_address:
    return read_address_option(value, message.requested_ip_address, "dhcp requested address option length");
  case dhcp_option::parameter_request_list:
    // RFC 2132 §9.8: minimum length 1.
    return read_byte_list(value, message.parameter_request_list, 1, "dhcp parameter request list option length");
  case dhcp_option::client_identifier:
    // RFC 2132 §9.14: minimum length 2 (type and at least one octet).
    return read_byte_list(value, message.client_identifier, 2, "dhcp client identifier option length");
  default: return {}; // options we do not use, option overload (52) among them
  }
}

// RFC 2131 §3 / RFC 2132 §2: code, length, value; PAD and END have no length.
Result<void> read_options(ByteReader& reader, DhcpMessage& message) {
  while (!reader.at_end()) {
    auto code = MUST(reader.u8());
    if (code == dhcp_option::pad) continue;
    if (code == dhcp_option::end) return {};
    auto length = reader.u8();
    if (!length) return fail(Errc::truncated, "dhcp option without its length");
    auto value = reader.sub(*length);
    if (!value) return fail(Errc::truncated, "dhcp option runs past the end");
    TRY(read_option(code, *value, message));
  }
  // A message cut off without END keeps the options read so far.
  return {};
}

void write_u32_option(ByteWriter& writer, std::uint8_t code, std::optional<std::uint32_t> value) {
  if (!value) return;
  writer.u8(code);
  writer.u8(4);
  writer.u32(*value);
}

void write_address_option(ByteWriter& writer, std::uint8_t code, std::optional<Ipv4Address> value) {
  if (value) write_u32_option(writer, code, value->value);
}

void write_address_list(ByteWriter& writer, std::uint8_t code, const BoundedList<Ipv4Address, 8>& list) {
  if (list.empty()) return;
  writer.u8(code);
  writer.u8(static_cast<std::uint8_t>(list.size() * 4));
  for (auto address : list) address.write(writer);
}

void write_byte_list(ByteWriter& writer, std::uint8_t code, const BoundedList<std::uint8_t, 255>& list) {
  if (list.empty()) return;
  writer.u8(code);
  writer.u8(static_cast<std::uint8_t>(list.size()));
  for (auto octet : list) writer.u8(octet);
}

DhcpMessage client_message(DhcpMessageType type, std::uint32_t xid, MacAddress mac, std::uint16_t secs) {
  DhcpMessage message;
  message.op = DhcpMessage::bootrequest;
  message.xid = xid;
  message.secs = secs;
  message.set_client_mac(mac);
  message.message_type = type;
  // RFC 2132 §9.14: type 1 (Ethernet) followed by the hardware address.
  message.client_identifier.push_back(DhcpMessage::htype_ethernet);
  for (auto octet : mac.octets) message.client_identifier.push_back(octet);
  if (type != DhcpMessageType::release)
    for (auto code : requested_parameters) message.parameter_request_list.push_back(code);
  return message;
}

} // namespace

void format_value(FormatSink& sink, DhcpMessageType type) {
  switch (type) {
  case DhcpMessageType::discover: return sink.write("DISCOVER");
  case DhcpMessageType::offer: return sink.write("OFFER");
  case DhcpMessageType::request: return sink.write("REQUEST");
  case DhcpMessageType::decline: return sink.write("DECLINE");
  case DhcpMessageType::ack: return sink.write("ACK");
  case DhcpMessageType::nak: return sink.write("NAK");
  case DhcpMessageType::release: return sink.write("RELEASE");
  case DhcpMessageType::inform: return sink.write("INFORM");
  }
  format_to(sink, "type {}", static_cast<unsigned>(type));
}

Result<DhcpMessage> DhcpMessage::parse(ByteReader& reader) {
  if (reader.remaining() < fixed_size) return fail(Errc::truncated, "dhcp message shorter than its fixed part");
  if (reader.remaining() < minimum_size) return fail(Errc::truncated, "dhcp message without a magic cookie");
  DhcpMessage message;
  // RFC 2131 §2, figure 1.
  message.op = MUST(reader.u8());
  message.htype = MUST(reader.u8());
  message.hlen = MUST(reader.u8());
  message.hops = MUST(reader.u8());
  message.xid = MUST(reader.u32());
  message.secs = MUST(reader.u16());
  message.flags = MUST(reader.u16());
  MUST(message.ciaddr.read(reader));
  MUST(message.yiaddr.read(reader));
  MUST(message.siaddr.read(reader));
  MUST(message.giaddr.read(reader));
  for (auto& octet : message.chaddr) octet = MUST(reader.u8());
  MUST(reader.skip(sname_and_file_size));
  // RFC 2131 §3: options begin with the cookie 99.130.83.99.
  if (MUST(reader.u32()) != magic_cookie) return fail(Errc::malformed, "dhcp magic cookie missing");
  TRY(read_options(reader, message));
  return message;
}

void DhcpMessage::write(ByteWriter& writer) const {
  auto start = writer.position();
  writer.u8(op);
  writer.u8(htype);
  writer.u8(hlen);
  writer.u8(hops);
  writer.u32(xid);
  writer.u16(secs);
  writer.u16(flags);
  ciaddr.write(writer);
  yiaddr.write(writer);
  siaddr.write(writer);
  giaddr.write(writer);
  for (auto octet : chaddr) writer.u8(octet);
  writer.zeros(sname_and_file_size);
  writer.u32(magic_cookie);
  // The message type first, as servers and RFC 2131's examples place it.
  if (message_type) {
    writer.u8(dhcp_option::dhcp_message_type);
    writer.u8(1);
    writer.u8(static_cast<std::uint8_t>(*message_type));
  }
  write_byte_list(writer, dhcp_option::client_identifier, client_identifier);
  write_address_option(writer, dhcp_option::requested_ip_address, requested_ip_address);
  write_address_option(writer, dhcp_option::server_identifier, server_identifier);
  write_byte_list(writer, dhcp_option::parameter_request_list, parameter_request_list);
  write_u32_option(writer, dhcp_option::ip_address_lease_time, ip_address_lease_time);
  write_u32_option(writer, dhcp_option::renewal_time_value, renewal_time_value);
  write_u32_option(writer, dhcp_option::rebinding_time_value, rebinding_time_value);
  write_address_option(writer, dhcp_option::subnet_mask, subnet_mask);
  write_address_list(writer, dhcp_option::router, routers);
  write_address_list(writer, dhcp_option::domain_name_server, domain_name_servers);
  writer.u8(dhcp_option::end);
  auto written = writer.position() - start;
  if (written < bootp_minimum_size) writer.zeros(bootp_minimum_size - written);
}

std::optional<MacAddress> DhcpMessage::client_mac() const {
  if (htype != htype_ethernet || hlen != 6) return std::nullopt;
  return MacAddress::from(chaddr.data());
}

void DhcpMessage::set_client_mac(MacAddress mac) {
  htype = htype_ethernet;
  hlen = 6;
  chaddr = {};
  for (std::size_t i = 0; i < mac.octets.size(); ++i) chaddr[i] = mac.octets[i];
}

DhcpMessage DhcpMessage::discover(std::uint32_t xid, MacAddress mac, std::uint16_t secs) {
  auto message = client_message(DhcpMessageType::discover, xid, mac, secs);
  message.flags = broadcast_flag;
  return message;
}

DhcpMessage DhcpMessage::request_selecting(const DhcpMessage& offer, MacAddress mac, std::uint16_t secs) {
  // RFC 2131 §4.3.2 / table 5: ciaddr zero, requested address and server identifier set.
  auto message = client_message(DhcpMessageType::request, offer.xid, mac, secs);
  message.flags = broadcast_flag;
  message.requested_ip_address = offer.yiaddr;
  message.server_identifier = offer.server_identifier;
  return message;
}

DhcpMessage DhcpMessage::request_renewing(std::uint32_t xid, MacAddress mac, Ipv4Address ciaddr, std::uint16_t secs) {
  // RFC 2131 §4.3.2: ciaddr set; no server identifier, no requested address.
  auto message = client_message(DhcpMessageType::request, xid, mac, secs);
  message.ciaddr = ciaddr;
  return message;
}

DhcpMessage DhcpMessage::request_rebinding(std::uint32_t xid, MacAddress mac, Ipv4Address ciaddr, std::uint16_t secs) {
  return request_renewing(xid, mac, ciaddr, secs);
}

DhcpMessage DhcpMessage::release(std::uint32_t xid, MacAddress mac, Ipv4Address ciaddr, Ipv4Address server_identifier) {
  // RFC 2131 §4.4.6 / table 5.
  auto message = client_message(DhcpMessageType::release, xid, mac, 0);
  message.ciaddr = ciaddr;
  message.server_identifier = server_identifier;
  return message;
}

Result<std::uint8_t> prefix_length_of(Ipv4Address netmask) {
  std::uint8_t length = 0;
  while (length < 32 && (netmask.value & (0x80000000u >> length))) ++length;
  if (Ipv4Cidr{{}, length}.netmask() != netmask.value) return fail(Errc::malformed, "netmask is not contiguous");
  return length;
}

} // namespace morgana::net
