// Parses the input as an ARP packet; on success writes it back and checks the
// 28 bytes equal the input's (every field is fixed-size and the header values
// are the only ones parse accepts) and that they parse to the same packet.

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "morgana/core/bytes.h"
#include "morgana/net/arp.h"

using namespace morgana;
using namespace morgana::net;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool same(const ArpPacket& a, const ArpPacket& b) {
  return a.operation == b.operation && a.sender_hardware == b.sender_hardware &&
         a.sender_protocol == b.sender_protocol && a.target_hardware == b.target_hardware &&
         a.target_protocol == b.target_protocol;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  ByteReader reader(input);
  auto packet = ArpPacket::parse(reader);
  if (!packet) {
    check(packet.error() == Errc::truncated || packet.error() == Errc::unsupported);
    check(size < ArpPacket::size || packet.error() == Errc::unsupported);
    return 0;
  }
  check(size >= ArpPacket::size && reader.position() == ArpPacket::size);

  std::byte buffer[ArpPacket::size];
  ByteWriter writer(buffer);
  packet->write(writer);
  check(writer.finish().has_value());
  check(std::memcmp(buffer, data, ArpPacket::size) == 0);

  ByteReader again_reader(buffer);
  auto again = ArpPacket::parse(again_reader);
  check(again.has_value() && same(*again, *packet));
  return 0;
}
