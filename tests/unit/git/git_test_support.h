#pragma once

// Helpers for the git wire tests: feeding captured bytes through the
// pkt-line decoder, and checking a received packfile.

#include <bearssl.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "morgana/git/pkt_line.h"

namespace morgana::git::test {

// Decodes `bytes` `chunk` at a time and hands every line to `on_line`, which
// returns true to stop; the first error (decoder's or on_line's) is returned.
inline Result<void> for_each_line(std::string_view bytes, const std::function<Result<bool>(const PktLine&)>& on_line,
                                  std::size_t chunk = 1000) {
  auto decoder = TRY(PktLineDecoder::create());
  for (std::size_t offset = 0; offset < bytes.size(); offset += chunk) {
    TRY(decoder.append(as_bytes(bytes.substr(offset, chunk))));
    while (auto line = TRY(decoder.next())) {
      if (TRY(on_line(*line))) return {};
    }
  }
  return {};
}

// A packfile's object count (from its header), or -1 when it is not one
// whose trailer is the SHA-1 of the rest.
inline std::int64_t pack_object_count(std::string_view pack) {
  if (pack.size() < 32 || pack.substr(0, 4) != "PACK") return -1;
  br_sha1_context context;
  br_sha1_init(&context);
  br_sha1_update(&context, pack.data(), pack.size() - 20);
  unsigned char digest[20];
  br_sha1_out(&context, digest);
  if (std::string_view(reinterpret_cast<const char*>(digest), 20) != pack.substr(pack.size() - 20)) return -1;
  return load_be32(reinterpret_cast<const std::byte*>(pack.data() + 8));
}

} // namespace morgana::git::test
