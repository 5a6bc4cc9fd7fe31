#pragma once

#include <cstdint>

#include "morgana/core/bytes.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::net {

namespace ip_protocol {
inline constexpr std::uint8_t icmp = 1;
inline constexpr std::uint8_t tcp = 6;
inline constexpr std::uint8_t udp = 17;
} // namespace ip_protocol

// The IPv4 header (RFC 791 §3.1) as host-order values.
struct Ipv4Header {
  static constexpr std::size_t minimum_size = 20;

  std::uint8_t header_length = minimum_size; // bytes (IHL * 4)
  std::uint8_t type_of_service = 0;
  std::uint16_t total_length = 0;
  std::uint16_t identification = 0;
  bool dont_fragment = false;
  bool more_fragments = false;
  std::uint16_t fragment_offset = 0; // bytes (the field * 8)
  std::uint8_t time_to_live = 64;
  std::uint8_t protocol = 0;
  std::uint16_t header_checksum = 0;
  Ipv4Address source;
  Ipv4Address destination;

  // Validates version, IHL, total length against the available bytes and the
  // header checksum. Options are skipped; the reader is left after the header.
  // Errors carry the reason in their context (for the drop counter's log line).
  [[nodiscard]] static Result<Ipv4Header> parse(ByteReader& reader);
  // Writes a header without options, computing the checksum.
  void write(ByteWriter& writer) const;

  [[nodiscard]] bool is_fragment() const { return more_fragments || fragment_offset != 0; }
  [[nodiscard]] std::size_t payload_length() const { return total_length - header_length; }
};

} // namespace morgana::net
