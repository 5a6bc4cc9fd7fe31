#include "morgana/net/ipv4_header.h"

#include "morgana/core/checksum.h"

namespace morgana::net {

Result<Ipv4Header> Ipv4Header::parse(ByteReader& reader) {
  auto start = reader.rest();
  Ipv4Header header;
  auto version_ihl = TRY(reader.u8());
  if ((version_ihl >> 4) != 4) return fail(Errc::malformed, "version is not 4");
  header.header_length = static_cast<std::uint8_t>((version_ihl & 0x0f) * 4);
  if (header.header_length < minimum_size) return fail(Errc::malformed, "IHL below 5");
  header.type_of_service = TRY(reader.u8());
  header.total_length = TRY(reader.u16());
  header.identification = TRY(reader.u16());
  auto flags_offset = TRY(reader.u16());
  // RFC 791 §3.1: bit 0 reserved, bit 1 DF, bit 2 MF, then 13 bits of offset in 8-byte units.
  if (flags_offset & 0x8000) return fail(Errc::malformed, "reserved flag set");
  header.dont_fragment = flags_offset & 0x4000;
  header.more_fragments = flags_offset & 0x2000;
  header.fragment_offset = static_cast<std::uint16_t>((flags_offset & 0x1fff) * 8);
  header.time_to_live = TRY(reader.u8());
  header.protocol = TRY(reader.u8());
  header.header_checksum = TRY(reader.u16());
  TRY(header.source.read(reader));
  TRY(header.destination.read(reader));
  if (header.total_length < header.header_length) return fail(Errc::malformed, "total length below header length");
  if (header.total_length > start.size()) return fail(Errc::truncated, "total length beyond the frame");
  TRY(reader.skip(header.header_length - minimum_size));
  if (internet_checksum(start.first(header.header_length)) != 0) return fail(Errc::bad_checksum, "header checksum");
  if (header.fragment_offset + header.payload_length() > 65535)
    return fail(Errc::malformed, "fragment ends beyond 65535");
  return header;
}

void Ipv4Header::write(ByteWriter& writer) const {
  auto start = writer.position();
  writer.u8(static_cast<std::uint8_t>(0x40 | (minimum_size / 4)));
  writer.u8(type_of_service);
  writer.u16(total_length);
  writer.u16(identification);
  writer.u16(
      static_cast<std::uint16_t>((dont_fragment ? 0x4000 : 0) | (more_fragments ? 0x2000 : 0) | (fragment_offset / 8)));
  writer.u8(time_to_live);
  writer.u8(protocol);
  auto* checksum = writer.reserve(2);
  source.write(writer);
  destination.write(writer);
  // On overflow the header is incomplete (and finish() will say so): nothing to checksum.
  if (!checksum || writer.overflowed()) return;
  store_be16(checksum, 0);
  store_be16(checksum, internet_checksum(writer.written().subspan(start, minimum_size)));
}

} // namespace morgana::net
