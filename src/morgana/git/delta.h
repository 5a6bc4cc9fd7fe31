#pragma once

// Git's delta format (gitformat-pack(5), "Deltified representation"): the
// base's size and the result's size as little-endian base-128 varints, then
// instructions: copy (0x80 | which offset and size bytes follow; size 0 means
// 0x10000) a range of the base, or insert (1..127) the next bytes.

#include <cstddef>
#include <cstdint>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"
#include "morgana/git/object.h"

namespace morgana::git {

struct DeltaHeader {
  std::uint64_t base_size = 0;
  std::uint64_t result_size = 0;
  std::size_t instructions_offset = 0; // where the instructions start in the delta
};

[[nodiscard]] Result<DeltaHeader> read_delta_header(Bytes delta);

// Applies `delta` to `base` into a new buffer. Errc::malformed when the base
// has another size than the delta expects, a copy reaches past the base, an
// instruction is 0 or runs past the delta, or the result's size differs from
// the one declared; Errc::limit_reached when that size exceeds `max_size`.
[[nodiscard]] Result<ObjectBuffer> apply_delta(Bytes base, Bytes delta, std::size_t max_size);

// The same, into `out`, which must be exactly the declared result size.
[[nodiscard]] Result<void> apply_delta_into(Bytes base, Bytes delta, MutableBytes out);

} // namespace morgana::git
