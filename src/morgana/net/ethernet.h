#pragma once

#include <cstdint>

#include "morgana/core/bytes.h"
#include "morgana/core/mac_address.h"

namespace morgana::net {

namespace ether_type {
inline constexpr std::uint16_t ipv4 = 0x0800;
inline constexpr std::uint16_t arp = 0x0806;
} // namespace ether_type

// Ethernet II header (IEEE 802.3 with EtherType >= 0x0600).
struct EthernetHeader {
  static constexpr std::size_t size = 14;
  // Frames shorter than this (without FCS) are padded by the sender.
  static constexpr std::size_t minimum_frame = 60;

  MacAddress destination;
  MacAddress source;
  std::uint16_t ether_type = 0;

  // Fails with Errc::truncated, or Errc::unsupported for 802.3 length frames.
  [[nodiscard]] static Result<EthernetHeader> parse(ByteReader& reader);
  void write(ByteWriter& writer) const;
};

} // namespace morgana::net
