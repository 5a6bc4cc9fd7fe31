#pragma once

#include <cstdint>

#include "morgana/core/bytes.h"
#include "morgana/net/ipv4_address.h"

namespace morgana::net {

// The checksum shared by TCP and UDP over IPv4: the Internet checksum of the
// pseudo-header (source, destination, zero, protocol, segment length; RFC 9293
// §3.1, RFC 768) followed by the segment. The segment's own checksum field is
// summed as it stands: zero it to compute a checksum; a received segment whose
// field is intact sums to 0.
[[nodiscard]] std::uint16_t transport_checksum(Ipv4Address source, Ipv4Address destination, std::uint8_t protocol,
                                               Bytes segment);

} // namespace morgana::net
