#pragma once

// The content of one gzip member, for tests that check what a store or a
// response compressed; nullopt when zlib refuses it or it does not end.

#include <zlib.h>

#include <optional>
#include <string>
#include <string_view>

namespace morgana::test_support {

inline std::optional<std::string> gunzip(std::string_view member) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer, not zlib's.
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return std::nullopt;
  std::string output(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(member.data()));
  stream.avail_in = static_cast<uInt>(member.size());
  stream.next_out = reinterpret_cast<Bytef*>(output.data());
  stream.avail_out = static_cast<uInt>(output.size());
  int status = inflate(&stream, Z_FINISH);
  output.resize(stream.total_out);
  inflateEnd(&stream);
  if (status != Z_STREAM_END) return std::nullopt;
  return output;
}

} // namespace morgana::test_support
