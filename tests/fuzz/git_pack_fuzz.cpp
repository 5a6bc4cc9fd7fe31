// Streams arbitrary bytes into PackIndexer with small limits, in pieces
// whose sizes come from the first byte, then reads back every object of a
// pack that indexes: each must hash to its id.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "morgana/git/pack_indexer.h"

using namespace morgana;
using namespace morgana::git;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t piece = data[0] == 0 ? size : data[0];
  Bytes input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  PackLimits limits;
  limits.max_pack_size = 1 << 20;
  limits.max_object_size = 1 << 18;
  limits.max_delta_depth = 50;
  limits.max_objects = 1000;
  limits.cache_budget = 1 << 14;
  PackIndexer indexer(limits);
  for (std::size_t at = 0; at < input.size(); at += piece) {
    if (!indexer.feed(input.subspan(at, std::min(piece, input.size() - at)))) return 0;
  }
  auto pack = indexer.finish();
  if (!pack) return 0;
  for (const auto& entry : pack->entries()) {
    auto object = pack->read(entry.id);
    if (!object || !verify(entry.id, object->type, object->data) || object->type != entry.type) std::abort();
  }
  return 0;
}
