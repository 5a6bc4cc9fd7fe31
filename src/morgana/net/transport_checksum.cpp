#include "morgana/net/transport_checksum.h"

#include "morgana/core/checksum.h"
#include "morgana/net/ipv4_header.h"

namespace morgana::net {

namespace {

InternetChecksum pseudo_header_sum(Ipv4Address source, Ipv4Address destination, std::uint8_t protocol,
                                   std::size_t length) {
  InternetChecksum sum;
  sum.add_u32(source.value);
  sum.add_u32(destination.value);
  sum.add_u16(protocol);
  // An IPv4 payload never exceeds 65535 bytes, so the length fits its 16 bits.
  sum.add_u16(static_cast<std::uint16_t>(length));
  return sum;
}

} // namespace

std::uint16_t transport_checksum(Ipv4Address source, Ipv4Address destination, std::uint8_t protocol, Bytes segment) {
  auto sum = pseudo_header_sum(source, destination, protocol, segment.size());
  sum.add(segment);
  return sum.finish();
}

void fill_transport_checksum(PacketBuffer& segment, Ipv4Address source, Ipv4Address destination, std::uint8_t protocol,
                             std::size_t field, bool offload) {
  auto bytes = segment.data();
  auto& metadata = segment.offload();
  if (offload) {
    store_be16(bytes.data() + field, pseudo_header_sum(source, destination, protocol, bytes.size()).folded());
    metadata.checksum_partial = true;
    metadata.checksum_start = 0;
    metadata.checksum_offset = static_cast<std::uint16_t>(field);
    return;
  }
  metadata.checksum_partial = false;
  store_be16(bytes.data() + field, 0);
  auto checksum = transport_checksum(source, destination, protocol, bytes);
  if (checksum == 0 && protocol == ip_protocol::udp) checksum = 0xffff;
  store_be16(bytes.data() + field, checksum);
}

} // namespace morgana::net
