#include "morgana/net/transport_checksum.h"

#include "morgana/core/checksum.h"

namespace morgana::net {

std::uint16_t transport_checksum(Ipv4Address source, Ipv4Address destination, std::uint8_t protocol, Bytes segment) {
  InternetChecksum sum;
  sum.add_u32(source.value);
  sum.add_u32(destination.value);
  sum.add_u16(protocol);
  // An IPv4 payload never exceeds 65535 bytes, so the length fits its 16 bits.
  sum.add_u16(static_cast<std::uint16_t>(segment.size()));
  sum.add(segment);
  return sum.finish();
}

} // namespace morgana::net
