#include "morgana/kv/gzip.h"

#include <zlib.h>

namespace morgana::kv {

std::optional<std::string> gzip(std::string_view content, GzipLevel level) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's; memLevel 9
  // (the most) only for the smallest output.
  int memory_level = level == GzipLevel::smallest ? 9 : 8;
  if (deflateInit2(&stream, static_cast<int>(level), Z_DEFLATED, 15 + 16, memory_level, Z_DEFAULT_STRATEGY) != Z_OK)
    return std::nullopt;
  std::string output(deflateBound(&stream, content.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
  stream.avail_in = static_cast<uInt>(content.size());
  stream.next_out = reinterpret_cast<Bytef*>(output.data());
  stream.avail_out = static_cast<uInt>(output.size());
  int status = deflate(&stream, Z_FINISH);
  output.resize(stream.total_out);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) return std::nullopt;
  return output;
}

} // namespace morgana::kv
