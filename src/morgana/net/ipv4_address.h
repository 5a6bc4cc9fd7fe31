#pragma once

#include <cstdint>
#include <string_view>

#include "morgana/core/bytes.h"
#include "morgana/core/format.h"

namespace morgana::net {

// An IPv4 address in host byte order.
struct Ipv4Address {
  std::uint32_t value = 0;

  static constexpr Ipv4Address from_octets(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    return {(std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d};
  }
  static constexpr Ipv4Address any() { return {0}; }
  static constexpr Ipv4Address broadcast() { return {0xffffffff}; }

  [[nodiscard]] constexpr bool is_any() const { return value == 0; }
  [[nodiscard]] constexpr bool is_broadcast() const { return value == 0xffffffff; }
  [[nodiscard]] constexpr bool is_multicast() const { return (value >> 28) == 0xe; }
  [[nodiscard]] constexpr bool is_loopback() const { return (value >> 24) == 127; }

  [[nodiscard]] Result<void> read(ByteReader& reader);
  void write(ByteWriter& writer) const { writer.u32(value); }
  void format(FormatSink& sink) const;
  friend constexpr auto operator<=>(const Ipv4Address&, const Ipv4Address&) = default;
};

// An address with its prefix length: "10.0.0.2/24".
struct Ipv4Cidr {
  Ipv4Address address;
  std::uint8_t prefix_length = 0;

  [[nodiscard]] constexpr std::uint32_t netmask() const {
    return prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_length);
  }
  [[nodiscard]] constexpr Ipv4Address network() const { return {address.value & netmask()}; }
  [[nodiscard]] constexpr Ipv4Address directed_broadcast() const { return {address.value | ~netmask()}; }
  [[nodiscard]] constexpr bool contains(Ipv4Address other) const {
    return (other.value & netmask()) == (address.value & netmask());
  }
  void format(FormatSink& sink) const;
  friend constexpr bool operator==(const Ipv4Cidr&, const Ipv4Cidr&) = default;
};

// An address and port.
struct Endpoint {
  Ipv4Address address;
  std::uint16_t port = 0;
  void format(FormatSink& sink) const;
  friend constexpr bool operator==(const Endpoint&, const Endpoint&) = default;
};

[[nodiscard]] Result<Ipv4Address> parse_ipv4(std::string_view text);
[[nodiscard]] Result<void> parse_value(std::string_view text, Ipv4Address& out);
[[nodiscard]] Result<void> parse_value(std::string_view text, Ipv4Cidr& out);
// ADDRESS:PORT, e.g. 10.0.0.1:5001; a peer to connect to, so port 0 is refused.
[[nodiscard]] Result<void> parse_value(std::string_view text, Endpoint& out);

} // namespace morgana::net
