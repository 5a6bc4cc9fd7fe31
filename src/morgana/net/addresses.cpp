#include "morgana/core/args.h"
#include "morgana/core/ascii.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::net {

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
