#include "morgana/net/ethernet.h"

namespace morgana::net {

Result<EthernetHeader> EthernetHeader::parse(ByteReader& reader) {
  EthernetHeader header;
  TRY(header.destination.read(reader));
  TRY(header.source.read(reader));
  header.ether_type = TRY(reader.u16());
  // Values below 0x0600 are IEEE 802.3 lengths, not EtherTypes.
  if (header.ether_type < 0x0600) return fail(Errc::unsupported, "802.3 length frame");
  return header;
}

void EthernetHeader::write(ByteWriter& writer) const {
  destination.write(writer);
  source.write(writer);
  writer.u16(ether_type);
}

} // namespace morgana::net
