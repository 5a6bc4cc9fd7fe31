#pragma once

// gzip variants of stored content. Standalone (zlib and the standard library
// only): the host crunch tool compiles it too, so an image's precomputed
// variants and those the blog makes at run time come from one function.

#include <optional>
#include <string>
#include <string_view>

namespace morgana::kv {

// How hard deflate works: crunch runs once per build and takes the smallest
// output; a blog refresh runs in the image, where zlib's default level costs
// far less CPU for a few bytes more.
enum class GzipLevel { fast = 6, smallest = 9 };

// A gzip member (RFC 1952) of `content` with modification time 0, so the
// output depends on the content only; nullopt when zlib fails.
[[nodiscard]] std::optional<std::string> gzip(std::string_view content, GzipLevel level);

} // namespace morgana::kv
