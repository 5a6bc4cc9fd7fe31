// Parses the input as a UDP datagram; on success checks the length field's
// bounds, writes the header back and compares it with the input's first 8
// bytes, and checks that a datagram whose checksum is recomputed (with the
// pseudo-header of two fixed addresses) verifies and re-parses the same.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/net/udp.h"

using namespace morgana;
using namespace morgana::net;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr auto source = Ipv4Address::from_octets(192, 0, 2, 1);
constexpr auto destination = Ipv4Address::from_octets(192, 0, 2, 2);

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  ByteReader reader(input);
  auto header = UdpHeader::parse(reader);
  if (!header) {
    if (size < UdpHeader::size) check(header.error() == Errc::truncated);
    else if (load_be16(input.data() + 4) < UdpHeader::size) check(header.error() == Errc::malformed);
    else check(header.error() == Errc::truncated && load_be16(input.data() + 4) > size);
    return 0;
  }
  check(header->length >= UdpHeader::size && header->length <= size);
  check(reader.position() == UdpHeader::size);

  std::vector<std::byte> datagram(input.begin(), input.begin() + header->length);
  ByteWriter writer(std::span(datagram).first(UdpHeader::size));
  header->write(writer);
  check(writer.finish().has_value());
  check(std::memcmp(datagram.data(), data, header->length) == 0);

  // RFC 768: with the checksum field zero, the computed value makes the sum verify.
  store_be16(datagram.data() + 6, 0);
  auto checksum = udp_checksum(source, destination, datagram);
  store_be16(datagram.data() + 6, checksum);
  check(udp_checksum(source, destination, datagram) == 0);

  ByteReader again_reader(datagram);
  auto again = UdpHeader::parse(again_reader);
  check(again.has_value());
  check(again->source_port == header->source_port && again->destination_port == header->destination_port &&
        again->length == header->length && again->checksum == checksum);
  return 0;
}
