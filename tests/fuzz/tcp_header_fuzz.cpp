// Parses the input as a TCP segment. A failed parse must leave the reader where
// it was. A header that parses must be self-consistent (data offset within the
// input, reader at the payload, window scale and SACK blocks within their
// limits) and must survive write -> parse with every field equal, its written
// length equal to header_length(), and a second write byte-for-byte the same.

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "morgana/core/bytes.h"
#include "morgana/core/format.h"
#include "morgana/net/tcp_header.h"

using namespace morgana;
using namespace morgana::net;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool same_fields(const TcpHeader& a, const TcpHeader& b) {
  if (a.sack().size() != b.sack().size()) return false;
  for (std::size_t i = 0; i < a.sack().size(); ++i)
    if (!(a.sack()[i] == b.sack()[i])) return false;
  return a.source_port == b.source_port && a.destination_port == b.destination_port && a.sequence == b.sequence &&
         a.acknowledgment == b.acknowledgment && a.flags == b.flags && a.window == b.window &&
         a.checksum == b.checksum && a.urgent_pointer == b.urgent_pointer && a.mss == b.mss &&
         a.window_scale == b.window_scale && a.sack_permitted == b.sack_permitted && a.timestamps == b.timestamps;
}

MutableBytes write(const TcpHeader& header, std::array<std::byte, TcpHeader::maximum_size>& buffer) {
  ByteWriter writer(buffer);
  header.write(writer);
  auto written = writer.finish();
  check(written.has_value());
  return *written;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), size);
  ByteReader reader(input);
  auto parsed = TcpHeader::parse(reader);
  if (!parsed) {
    check(reader.position() == 0);
    check(!parsed.error().context.empty());
    return 0;
  }
  const TcpHeader& header = *parsed;
  check(header.data_offset >= TcpHeader::minimum_size && header.data_offset <= TcpHeader::maximum_size);
  check(header.data_offset % 4 == 0 && header.data_offset <= size);
  check(reader.position() == header.data_offset);
  check(!header.window_scale || *header.window_scale <= TcpHeader::maximum_window_scale);
  check(header.sack_block_count <= TcpHeader::maximum_sack_blocks);
  check(header.options_length() % 4 == 0 && header.options_length() <= TcpHeader::maximum_options_size);

  StringBuilder<256> text;
  format_to(text, "{}", header);
  check(!text.view().empty());

  std::array<std::byte, TcpHeader::maximum_size> first_buffer;
  auto first = write(header, first_buffer);
  check(first.size() == header.header_length());

  ByteReader again(first);
  auto reparsed = TcpHeader::parse(again);
  check(reparsed.has_value());
  check(again.at_end());
  check(reparsed->data_offset == first.size());
  check(same_fields(header, *reparsed));

  std::array<std::byte, TcpHeader::maximum_size> second_buffer;
  auto second = write(*reparsed, second_buffer);
  check(second.size() == first.size() && std::memcmp(second.data(), first.data(), first.size()) == 0);
  return 0;
}
