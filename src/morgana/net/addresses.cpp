#include "morgana/core/args.h"
#include "morgana/core/ascii.h"
#include "morgana/net/ipv4_address.h"
#include "morgana/net/mac_address.h"

namespace morgana::net {

Result<void> MacAddress::read(ByteReader& reader) {
  auto bytes = TRY(reader.bytes(6));
  for (int i = 0; i < 6; ++i) octets[i] = std::to_integer<std::uint8_t>(bytes[i]);
  return {};
}

void MacAddress::write(ByteWriter& writer) const {
  for (auto octet : octets) writer.u8(octet);
}

void MacAddress::format(FormatSink& sink) const {
  for (int i = 0; i < 6; ++i) {
    if (i) sink.put(':');
    Hex{octets[i], 2}.format(sink);
  }
}

Result<void> parse_value(std::string_view text, MacAddress& out) {
  if (text.size() != 17) return fail(Errc::invalid_argument, "expected a MAC address like 52:54:00:12:34:56");
  for (int i = 0; i < 6; ++i) {
    int high = ascii::hex_digit_value(text[3 * i]);
    int low = ascii::hex_digit_value(text[3 * i + 1]);
    if (high < 0 || low < 0 || (i < 5 && text[3 * i + 2] != ':'))
      return fail(Errc::invalid_argument, "expected a MAC address like 52:54:00:12:34:56");
    out.octets[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return {};
}

Result<void> Ipv4Address::read(ByteReader& reader) {
  value = TRY(reader.u32());
  return {};
}

void Ipv4Address::format(FormatSink& sink) const {
  format_to(sink, "{}.{}.{}.{}", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff);
}

void Ipv4Cidr::format(FormatSink& sink) const { format_to(sink, "{}/{}", address, prefix_length); }

void Endpoint::format(FormatSink& sink) const { format_to(sink, "{}:{}", address, port); }

Result<Ipv4Address> parse_ipv4(std::string_view text) {
  std::uint32_t value = 0;
  for (int part = 0; part < 4; ++part) {
    auto dot = text.find('.');
    if ((part < 3) == (dot == std::string_view::npos))
      return fail(Errc::invalid_argument, "expected an IPv4 address like 10.0.0.2");
    auto digits = text.substr(0, dot);
    if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0'))
      return fail(Errc::invalid_argument, "expected an IPv4 address like 10.0.0.2");
    std::uint8_t octet = 0;
    TRY(args::parse_value(digits, octet));
    value = (value << 8) | octet;
    text = part < 3 ? text.substr(dot + 1) : std::string_view{};
  }
  return Ipv4Address{value};
}

Result<void> parse_value(std::string_view text, Ipv4Address& out) {
  out = TRY(parse_ipv4(text));
  return {};
}

Result<void> parse_value(std::string_view text, Ipv4Cidr& out) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return fail(Errc::invalid_argument, "expected ADDRESS/PREFIX like 10.0.0.2/24");
  out.address = TRY(parse_ipv4(text.substr(0, slash)));
  std::uint8_t prefix = 0;
  TRY(args::parse_value(text.substr(slash + 1), prefix));
  if (prefix > 32) return fail(Errc::invalid_argument, "prefix length must be 0 to 32");
  out.prefix_length = prefix;
  return {};
}

Result<void> parse_value(std::string_view text, Endpoint& out) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return fail(Errc::invalid_argument, "expected ADDRESS:PORT like 10.0.0.1:80");
  auto address = TRY(parse_ipv4(text.substr(0, colon)));
  std::uint16_t port = 0;
  TRY(args::parse_value(text.substr(colon + 1), port));
  if (port == 0) return fail(Errc::invalid_argument, "port 0");
  out = {address, port};
  return {};
}

} // namespace morgana::net
