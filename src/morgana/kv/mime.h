#pragma once

// Media types by file name, for Content-Type. Standalone (the standard
// library's <string_view> only): the host crunch tool compiles it too, so an
// image's precomputed types and the server's fallback agree.

#include <string_view>

namespace morgana::kv {

// The media type for `path` by its extension, compared case-insensitively,
// with "; charset=utf-8" on textual types; "application/octet-stream" for
// unknown extensions and names without one.
[[nodiscard]] std::string_view mime_type(std::string_view path);

// Whether a response of media type `mime` (parameters allowed) is worth
// compressing: text and structured text, SVG, fonts without their own
// compression, WebAssembly; not images, audio, video or archives.
[[nodiscard]] bool is_compressible(std::string_view mime);

} // namespace morgana::kv
