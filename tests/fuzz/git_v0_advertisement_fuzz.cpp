// Feeds arbitrary bytes, as pkt-lines up to a flush, to the v0 reference
// advertisement, then builds an upload-request for its refs. Checks that
// every ref has a 40-hex id and a name without spaces, that peeled ids are
// ids, that a request built from the advertised ids is accepted, and that it
// decodes back into pkt-lines ending in "done".

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "morgana/git/protocol_v0.h"

using namespace morgana;
using namespace morgana::git;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Bytes input(reinterpret_cast<const std::byte*>(data), std::min<std::size_t>(size, PktLineDecoder::capacity));
  auto decoder = PktLineDecoder::create();
  check(decoder.has_value());
  check(decoder->append(input).has_value());
  RefAdvertisement advertisement;
  for (;;) {
    auto line = decoder->next();
    if (!line || !*line) return 0;
    if ((*line)->kind == PktKind::flush) break;
    if (!(*line)->is_data()) return 0;
    if (!advertisement.add_line((*line)->text())) return 0;
  }
  advertisement.finish();
  FetchRequest request;
  for (const auto& ref : advertisement.refs()) {
    check(is_object_id(ref.id));
    check(is_ref_name(ref.name));
    check(ref.peeled.empty() || is_object_id(ref.peeled));
    if (request.wants.size() < 8) request.wants.push_back(ref.id);
  }
  (void)advertisement.capabilities().check_object_format();
  if (request.wants.empty()) return 0;
  request.haves = request.wants;
  auto built = build_upload_request(request, advertisement.capabilities(), "morgana/0.1");
  check(built.has_value());
  auto reader = PktLineDecoder::create();
  check(reader.has_value());
  check(reader->append(as_bytes(*built)).has_value());
  std::string last;
  for (;;) {
    auto line = reader->next();
    check(line.has_value());
    if (!*line) break;
    if ((*line)->is_data()) last = (*line)->text();
  }
  check(last == "done");
  return 0;
}
