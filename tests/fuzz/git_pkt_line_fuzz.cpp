// Feeds arbitrary bytes to the pkt-line decoder, in pieces whose sizes the
// input's first byte chooses, and hands every data line to the side-band
// demultiplexer. Checks what the client relies on: a data line's payload is
// within the buffer and at most 65516 bytes; after an error the error text
// is what followed "ERR "; the pack bytes counted equal those delivered;
// every line re-encoded by PktLineWriter decodes to the same line.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "morgana/git/pkt_line.h"
#include "morgana/git/side_band.h"

using namespace morgana;
using namespace morgana::git;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_round_trip(const PktLine& line) {
  PktLineWriter writer;
  switch (line.kind) {
  case PktKind::data: writer.line(as_string(line.payload)); break;
  case PktKind::flush: writer.flush(); break;
  case PktKind::delim: writer.delim(); break;
  case PktKind::response_end: return;
  }
  auto encoded = writer.finish();
  check(encoded.has_value());
  auto decoder = PktLineDecoder::create();
  check(decoder.has_value());
  check(decoder->append(as_bytes(*encoded)).has_value());
  auto again = decoder->next();
  check(again.has_value() && again->has_value());
  check((*again)->kind == line.kind);
  check(as_string((*again)->payload) == as_string(line.payload));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t chunk = 1 + data[0] % 64;
  Bytes input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  auto decoder = PktLineDecoder::create();
  check(decoder.has_value());
  std::uint64_t delivered = 0;
  SideBandDemux demux([&](Bytes pack) -> Result<void> {
    delivered += pack.size();
    return {};
  });
  for (std::size_t offset = 0; offset < input.size(); offset += chunk) {
    auto piece = input.subspan(offset, std::min(chunk, input.size() - offset));
    check(piece.size() <= decoder->free_space());
    check(decoder->append(piece).has_value());
    for (;;) {
      auto line = decoder->next();
      if (!line) {
        if (line.error() == Errc::io_error) check(decoder->error_text().size() <= max_pkt_payload);
        check(delivered == demux.pack_bytes());
        return 0;
      }
      if (!*line) break;
      check((*line)->payload.size() <= max_pkt_payload);
      check_round_trip(**line);
      if ((*line)->is_data()) {
        auto band = demux.on_line((*line)->payload);
        if (!band && band.error() == Errc::io_error) check(demux.error_text().size() < max_pkt_payload);
      }
    }
  }
  check(delivered == demux.pack_bytes());
  return 0;
}
