#pragma once

#include <cstdint>

#include "morgana/core/bytes.h"
#include "morgana/core/packet.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::net {

// The checksum shared by TCP and UDP over IPv4: the Internet checksum of the
// pseudo-header (source, destination, zero, protocol, segment length; RFC 9293
// §3.1, RFC 768) followed by the segment. The segment's own checksum field is
// summed as it stands: zero it to compute a checksum; a received segment whose
// field is intact sums to 0.
[[nodiscard]] std::uint16_t transport_checksum(Ipv4Address source, Ipv4Address destination, std::uint8_t protocol,
                                               Bytes segment);

// Whether the device vouched for a received packet's transport checksum
// (verified it, or the packet never left the host and has none yet).
[[nodiscard]] inline bool checked_by_device(const PacketBuffer& packet) {
  return packet.offload().checksum_valid || packet.offload().checksum_partial;
}

// Fills the checksum field (at `field` in `segment`, a TCP or UDP header and
// its data) in software, or, with `offload` (the device has tx_checksum),
// leaves it to the device: the field gets the pseudo-header sum and the
// packet's offload marks it partial. A UDP checksum that comes out 0 is sent
// as 0xffff (RFC 768: 0 means none); devices do the same.
void fill_transport_checksum(PacketBuffer& segment, Ipv4Address source, Ipv4Address destination, std::uint8_t protocol,
                             std::size_t field, bool offload);

} // namespace morgana::net
