// Applies arbitrary deltas to a base taken from the input: "<1 byte base
// length><base><delta>". A delta that applies yields exactly the size its
// header declares, within the limit; none reads outside the base (ASan).

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "morgana/git/delta.h"

using namespace morgana;
using namespace morgana::git;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::size_t base_size = data[0];
  if (size - 1 < base_size) return 0;
  Bytes base(reinterpret_cast<const std::byte*>(data + 1), base_size);
  Bytes delta(reinterpret_cast<const std::byte*>(data + 1 + base_size), size - 1 - base_size);
  constexpr std::size_t limit = 1 << 20;
  auto result = apply_delta(base, delta, limit);
  if (!result) return 0;
  auto header = MUST(read_delta_header(delta));
  if (header.result_size != result->size || result->size > limit || header.base_size != base.size()) std::abort();
  return 0;
}
