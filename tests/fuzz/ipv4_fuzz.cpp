// Parses the input as an IPv4 datagram and checks what a parse promises: a
// header of 20 to 60 bytes, a total length within the input and not below the
// header, a checksum that verifies, a fragment that ends by 65535, and the
// reader left after the header. Then writes the header back (without options)
// and checks the fixed fields reproduce the input, and that the written header
// with the input's payload parses to the same values.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/checksum.h"
#include "morgana/net/ipv4_header.h"

using namespace morgana;
using namespace morgana::net;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool same_fields(const Ipv4Header& a, const Ipv4Header& b) {
  return a.type_of_service == b.type_of_service && a.identification == b.identification &&
         a.dont_fragment == b.dont_fragment && a.more_fragments == b.more_fragments &&
         a.fragment_offset == b.fragment_offset && a.time_to_live == b.time_to_live && a.protocol == b.protocol &&
         a.source == b.source && a.destination == b.destination;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  ByteReader reader(input);
  auto parsed = Ipv4Header::parse(reader);
  if (!parsed) {
    auto code = parsed.error().code;
    check(code == Errc::truncated || code == Errc::malformed || code == Errc::bad_checksum);
    check(!parsed.error().context.empty() || code == Errc::truncated);
    return 0;
  }
  const Ipv4Header& header = *parsed;
  check(header.header_length >= Ipv4Header::minimum_size && header.header_length <= 60);
  check(header.header_length % 4 == 0);
  check(header.total_length >= header.header_length && header.total_length <= size);
  check(reader.position() == header.header_length);
  check(internet_checksum(input.first(header.header_length)) == 0);
  check(header.fragment_offset % 8 == 0);
  check(header.fragment_offset + header.payload_length() <= 65535);
  check(header.header_checksum == load_be16(input.data() + 10));

  // Written without options: everything but IHL, total length and checksum is the input's.
  Ipv4Header plain = header;
  plain.header_length = Ipv4Header::minimum_size;
  plain.total_length = static_cast<std::uint16_t>(Ipv4Header::minimum_size + header.payload_length());
  std::vector<std::byte> datagram(plain.total_length);
  ByteWriter writer(datagram);
  plain.write(writer);
  check(writer.finish().has_value());
  check(std::memcmp(datagram.data() + 1, data + 1, 1) == 0);
  check(std::memcmp(datagram.data() + 4, data + 4, 6) == 0);
  check(std::memcmp(datagram.data() + 12, data + 12, 8) == 0);
  if (header.header_length == Ipv4Header::minimum_size) {
    check(datagram[0] == input[0] && load_be16(datagram.data() + 2) == header.total_length);
    // The same header sums to the same value; only the two encodings of zero may differ.
    auto written = load_be16(datagram.data() + 10);
    check(written == header.header_checksum || (written == 0 && header.header_checksum == 0xffff) ||
          (written == 0xffff && header.header_checksum == 0));
  }
  auto payload = input.subspan(header.header_length, header.payload_length());
  if (!payload.empty()) std::memcpy(datagram.data() + Ipv4Header::minimum_size, payload.data(), payload.size());

  ByteReader again_reader(datagram);
  auto again = Ipv4Header::parse(again_reader);
  check(again.has_value());
  check(same_fields(*again, header));
  check(again->total_length == plain.total_length && again->payload_length() == header.payload_length());
  return 0;
}
