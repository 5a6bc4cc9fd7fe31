// Parses the input as an ICMP message; on success checks that the whole
// message's checksum verifies, writes the header back and compares it with the
// input's first 8 bytes, and re-parses the written header with the input's data.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "morgana/core/bytes.h"
#include "morgana/core/checksum.h"
#include "morgana/net/icmp.h"

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
  auto header = IcmpHeader::parse(reader);
  if (!header) {
    check(size < IcmpHeader::size ? header.error() == Errc::truncated : header.error() == Errc::bad_checksum);
    return 0;
  }
  check(size >= IcmpHeader::size && reader.position() == IcmpHeader::size);
  check(internet_checksum(input) == 0);
  check(header->checksum == load_be16(input.data() + 2));

  std::vector<std::byte> message(input.begin(), input.end());
  ByteWriter writer(std::span(message).first(IcmpHeader::size));
  header->write(writer);
  check(writer.finish().has_value());
  check(std::memcmp(message.data(), data, size) == 0);

  ByteReader again_reader(message);
  auto again = IcmpHeader::parse(again_reader);
  check(again.has_value());
  check(again->type == header->type && again->code == header->code && again->checksum == header->checksum &&
        again->rest == header->rest);
  return 0;
}
