// Parses the input as an Ethernet II header; on success writes the header back
// and checks it reproduces the input's first 14 bytes and parses to the same
// fields. A failed parse must be a short input or an 802.3 length field.

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "morgana/core/bytes.h"
#include "morgana/net/ethernet.h"

using namespace morgana;
using namespace morgana::net;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  ByteReader reader(input);
  auto header = EthernetHeader::parse(reader);
  if (!header) {
    check(size < EthernetHeader::size ? header.error() == Errc::truncated : header.error() == Errc::unsupported);
    return 0;
  }
  check(size >= EthernetHeader::size && reader.position() == EthernetHeader::size);
  check(header->ether_type >= 0x0600);

  std::byte buffer[EthernetHeader::size];
  ByteWriter writer(buffer);
  header->write(writer);
  check(writer.finish().has_value());
  check(std::memcmp(buffer, data, EthernetHeader::size) == 0);

  ByteReader again_reader(buffer);
  auto again = EthernetHeader::parse(again_reader);
  check(again.has_value());
  check(again->destination == header->destination && again->source == header->source &&
        again->ether_type == header->ether_type);
  return 0;
}
