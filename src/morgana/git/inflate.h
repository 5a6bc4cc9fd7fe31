#pragma once

// zlib inflate (RFC 1950) over spans, for pack entries: the compressed length
// of an entry is only known by inflating it to its end.

#include <cstddef>

#include <zlib.h>

#include "morgana/core/bytes.h"
#include "morgana/core/result.h"

namespace morgana::git {

struct InflateStep {
  std::size_t consumed = 0; // input bytes used
  std::size_t produced = 0; // output bytes written
  bool finished = false;    // the zlib stream ended (its checksum matched)
};

// A zlib stream, fed in pieces. Not movable: zlib's state points back at it.
class Inflater {
public:
  Inflater() = default;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater();

  // Starts a new stream (allocating zlib's state the first time).
  [[nodiscard]] Result<void> start();
  // Inflates what it can of `input` into `output`. Errc::malformed for a
  // corrupt stream or a bad Adler-32.
  [[nodiscard]] Result<InflateStep> step(Bytes input, MutableBytes output);

private:
  z_stream m_stream{};
  bool m_initialised = false;
};

// Inflates one whole stream from the front of `input` into `output`, which
// must be exactly the inflated size. The compressed length, or
// Errc::malformed (corrupt, longer or shorter than `output`) or
// Errc::truncated (input ends first).
[[nodiscard]] Result<std::size_t> inflate_exact(Inflater& inflater, Bytes input, MutableBytes output);

} // namespace morgana::git
