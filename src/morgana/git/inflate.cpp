#include "morgana/git/inflate.h"

#include <algorithm>
#include <limits>

namespace morgana::git {

namespace {
// zlib counts in uInt; larger spans are fed in pieces.
constexpr std::size_t max_chunk = std::numeric_limits<uInt>::max();
} // namespace

Inflater::~Inflater() {
  if (m_initialised) inflateEnd(&m_stream);
}

Result<void> Inflater::start() {
  if (m_initialised) {
    if (inflateReset(&m_stream) != Z_OK) return fail(Errc::malformed, "git: zlib reset failed");
    return {};
  }
  m_stream = z_stream{};
  if (inflateInit(&m_stream) != Z_OK) return fail(Errc::no_memory, "git: zlib inflate state");
  m_initialised = true;
  return {};
}

Result<InflateStep> Inflater::step(Bytes input, MutableBytes output) {
  InflateStep result;
  // zlib takes non-const input pointers but never writes through them.
  m_stream.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(input.data()));
  m_stream.avail_in = static_cast<uInt>(std::min(input.size(), max_chunk));
  m_stream.next_out = reinterpret_cast<Bytef*>(output.data());
  m_stream.avail_out = static_cast<uInt>(std::min(output.size(), max_chunk));
  auto in_before = m_stream.avail_in;
  auto out_before = m_stream.avail_out;
  int status = inflate(&m_stream, Z_NO_FLUSH);
  result.consumed = in_before - m_stream.avail_in;
  result.produced = out_before - m_stream.avail_out;
  switch (status) {
  case Z_STREAM_END: result.finished = true; break;
  case Z_OK:
  case Z_BUF_ERROR: break; // Z_BUF_ERROR: no progress possible until more input or more room
  case Z_MEM_ERROR: return fail(Errc::no_memory, "git: zlib window");
  default: return fail(Errc::malformed, "git: corrupt zlib stream");
  }
  return result;
}

Result<std::size_t> inflate_exact(Inflater& inflater, Bytes input, MutableBytes output) {
  TRY(inflater.start());
  std::size_t consumed = 0;
  std::size_t produced = 0;
  std::byte overflow[1];
  for (;;) {
    bool spare = produced == output.size();
    // Once `output` is full, one byte more would mean the stream is longer than declared.
    auto step = TRY(inflater.step(input.subspan(consumed), spare ? MutableBytes(overflow) : output.subspan(produced)));
    consumed += step.consumed;
    if (spare && step.produced) return fail(Errc::malformed, "git: zlib stream longer than its declared size");
    produced += spare ? 0 : step.produced;
    if (step.finished) {
      if (produced != output.size()) return fail(Errc::malformed, "git: zlib stream shorter than its declared size");
      return consumed;
    }
    if (step.consumed == 0 && step.produced == 0) {
      if (consumed == input.size()) return fail(Errc::truncated, "git: zlib stream ends early");
      return fail(Errc::malformed, "git: zlib stream makes no progress");
    }
  }
}

} // namespace morgana::git
